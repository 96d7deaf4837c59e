"""A professional's contact details: the one shape shared by signal, match and notify.

It mirrors `sluis.types.v1.ProfessionalContact`; the conversions live here once.
"""

from dataclasses import dataclass

from sluis.types.v1 import types_pb2


@dataclass(frozen=True)
class Contact:
    """Contact details of a professional: the only personal data held about them."""

    professional_id: str
    name: str = ""
    role: str = ""
    phone: str = ""
    email: str = ""
    organisation_id: str = ""
    organisation_name: str = ""


def contact_from_proto(msg: types_pb2.ProfessionalContact) -> Contact:
    return Contact(
        professional_id=msg.professional_id,
        name=msg.name,
        role=msg.role,
        phone=msg.phone,
        email=msg.email,
        organisation_id=msg.organisation_id,
        organisation_name=msg.organisation_name,
    )


def contact_to_proto(contact: Contact) -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=contact.professional_id,
        name=contact.name,
        role=contact.role,
        phone=contact.phone,
        email=contact.email,
        organisation_id=contact.organisation_id,
        organisation_name=contact.organisation_name,
    )
