"""A professional's contact details: the one shape shared by signal, match and notify.

It mirrors `sluis.types.v1.ProfessionalContact`; every conversion (protobuf, JSON, database
columns) lives here once.
"""

import dataclasses
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

    def as_json(self) -> dict[str, str]:
        """The contact as a JSON object (webhook bodies), keys as the field names."""
        return dict(zip(FIELDS, contact_values(self), strict=True))


# The fields in declaration order: the column order of every table that stores a contact.
FIELDS = tuple(f.name for f in dataclasses.fields(Contact))
# Flat strings only, so a plain getter does what dataclasses.asdict/astuple do with a deep
# copy; those were a measurable share of matching (issue 21: every member of every event).
_VALUES = operator.attrgetter(*FIELDS)


def contact_from_proto(msg: types_pb2.ProfessionalContact) -> Contact:
    """The contact of a message, surrounding whitespace removed."""
    return Contact(*(getattr(msg, name).strip() for name in FIELDS))


def contact_to_proto(contact: Contact) -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(**contact.as_json())


def contact_values(contact: Contact) -> tuple[str, ...]:
    """The fields in `FIELDS` order, for a row stored in consecutive columns."""
    values: tuple[str, ...] = _VALUES(contact)
    return values


def contact_from_values(values: Sequence[Any]) -> Contact:
    """A contact from consecutive columns in `FIELDS` order."""
    return Contact(*values[: len(FIELDS)])


def contact_from_row(row: Mapping[str, Any], columns: Mapping[str, str]) -> Contact:
    """A contact from a row with named columns; `columns` maps a field to its column name
    where the two differ (signal's table says `contact_name` for `name`)."""
    return Contact(*(row[columns.get(name, name)] for name in FIELDS))
