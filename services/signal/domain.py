"""The rules of a signal: what a registration needs, who must be informed, how long it lives.

Pure functions and plain dataclasses: no I/O, no protobuf, no logging of inputs. The server
translates requests into these types; the store persists them.

Decisions (where the law and the issue leave room):
- Ages are computed from the birth date against today's date in Europe/Amsterdam.
- Informing by age (`allowed_parties`): under 12 the legal representative, 12 to 15 both;
  from 16 the person, and the legal representative too while the person is a minor (16,
  17: parents keep parental authority) or when an adult is under guardianship (curatele,
  mentorschap), then also the representative alone. Anything else is refused (data
  minimisation). Each party is either informed (method, date) or postponed (a reason code),
  so "child informed, parent postponed for safety" is one record; a postponed party is
  completed later (`informing_completed`).
- Consent by profile, for every age (`required_consent_by`): an organisation that signals
  with consent records whose consent it has - under 16 the legal representative (12 to 15
  may record both), 16 and older the person, an adult under guardianship the representative
  (or both). An organisation under a legal ground records that ground, not consent. The old
  request flag `consent_given` alone still means "the consent this age asks for".
- From 23 the youth regime (Jeugdwet) no longer applies: the professional must attest
  multi-problem involvement.
- Turning 23 while a youth-regime signal (registered without the multi-problem attestation)
  is active: the lifecycle job ends it (archived, reason aged_out) on the first run on or
  after the 23rd birthday, unless it was re-attested under the adult regime. The professional
  is reminded 30 days before. Re-attesting is a renewal; it is allowed as soon as the signal
  would age out within the renewal window, and then the adult regime applies even if the
  person is still 22 (issue 12: nothing attested or consented to before is carried over).
- Durations in days, never longer than the calendar period: active 730 days, kept 1825
  days after it became inactive, renewable in the last 90 days, reminder 30 days before.
- A professional ends a signal as goal reached, unjustified or other. Goal reached and
  other archive it; unjustified deletes it at once, as does an upheld objection.
- A signal that lapses is archived as of the moment it lapsed (its active_until), however
  late the lifecycle job notices; the job's SQL takes its cut-offs from `lifecycle_cutoffs`.

Over 500 lines on purpose: every rule of a signal's life is in this one module, in the order
of that life (registration, informing, renewal, ending, lapse), so a reviewer reads it once.
"""

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from services.common import clientref
from services.common.contacts import Contact
from services.common.domains import WORK_DOMAINS
from services.common.errors import FailedPrecondition, InvalidArgument, NotFound

TIMEZONE = ZoneInfo("Europe/Amsterdam")
ACTIVE_PERIOD = timedelta(days=730)
RETENTION_PERIOD = timedelta(days=5 * 365)
RENEWAL_WINDOW = timedelta(days=90)
REMINDER_BEFORE = timedelta(days=30)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
ADULT_REGIME_AGE = 23
MAJORITY_AGE = 18

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Deliberately loose: one @, something on both sides, a dot in the domain. The organisation
# is responsible for the address; this only catches obvious mistakes.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 200

E = TypeVar("E", bound=StrEnum)


class LegalBasis(StrEnum):
    CONSENT = "consent"
    LEGAL_GROUND = "legal_ground"


class InformedParty(StrEnum):
    PERSON = "person"
    LEGAL_REPRESENTATIVE = "legal_representative"
    BOTH = "both"


class InformedMethod(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"


class PostponeReason(StrEnum):
    SAFETY = "safety"
    NOT_REACHABLE = "not_reachable"


class RepresentativeReason(StrEnum):
    """Why a person of 16 or older has a legal representative."""

    GUARDIANSHIP = "guardianship"  # curatele or mentorschap (adults)
    MINOR = "minor"  # 16 or 17: the parents still hold parental authority


class ConsentBy(StrEnum):
    """Whose consent a consent-based organisation has for the signal."""

    PERSON = "person"
    LEGAL_REPRESENTATIVE = "legal_representative"
    BOTH = "both"


class Status(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class EndReason(StrEnum):
    GOAL_REACHED = "goal_reached"
    UNJUSTIFIED = "unjustified"
    OTHER = "other"
    EXPIRED = "expired"
    OBJECTION_UPHELD = "objection_upheld"
    PURGED = "purged"
    AGED_OUT = "aged_out"  # a youth-regime signal ended when the person turned 23
    DECEASED = "deceased"  # the person died (recorded by a region admin)


DOMAINS = frozenset(WORK_DOMAINS)
# What a professional may choose when ending their own signal.
PROFESSIONAL_END_REASONS = frozenset({EndReason.GOAL_REACHED, EndReason.UNJUSTIFIED, EndReason.OTHER})
# Ending for these reasons deletes the signal at once instead of archiving it.
DELETE_AT_ONCE = frozenset({EndReason.UNJUSTIFIED, EndReason.OBJECTION_UPHELD})


@dataclass(frozen=True)
class Organisation:
    """The organisation profile as the gateway passed it (the gateway owns it)."""

    organisation_id: str
    name: str
    legal_basis: LegalBasis
    legal_ground: str
    domains: tuple[str, ...]
    may_coordinate: bool


@dataclass(frozen=True)
class PartyInforming:
    """One party: informed on a date by a method, or postponed for a reason."""

    method: InformedMethod | None = None
    informed_on: date | None = None
    postpone_reason: PostponeReason | None = None

    @property
    def postponed(self) -> bool:
        return self.postpone_reason is not None


@dataclass(frozen=True)
class Informed:
    """Per party (the person, the legal representative): informed, or postponed and why."""

    person: PartyInforming | None
    representative: PartyInforming | None
    representative_reason: RepresentativeReason | None = None

    @property
    def records(self) -> tuple[PartyInforming, ...]:
        return tuple(r for r in (self.person, self.representative) if r is not None)

    @property
    def party(self) -> InformedParty:
        if self.person is not None and self.representative is not None:
            return InformedParty.BOTH
        return InformedParty.PERSON if self.person is not None else InformedParty.LEGAL_REPRESENTATIVE

    # The one-line summary older readers use: the first informed party's method and date,
    # the first postponed party's reason.
    @property
    def method(self) -> InformedMethod | None:
        return next((r.method for r in self.records if not r.postponed), None)

    @property
    def informed_on(self) -> date | None:
        return next((r.informed_on for r in self.records if not r.postponed), None)

    @property
    def postpone_reason(self) -> PostponeReason | None:
        return next((r.postpone_reason for r in self.records if r.postponed), None)

    @property
    def postponed(self) -> bool:
        return any(r.postponed for r in self.records)


@dataclass(frozen=True)
class Signal:
    signal_id: str
    pseudonym: str
    birth_date: date
    professional: Contact
    organisation: Organisation
    informed: Informed
    multi_problem_attested: bool
    consent_given: bool
    status: Status
    end_reason: EndReason | None
    registered_at: datetime
    active_until: datetime
    ended_at: datetime | None = None
    delete_after: datetime | None = None
    version: int = 1
    consent_by: ConsentBy | None = None
    under_guardianship: bool = False
    municipality_code: str = ""  # BRP gemeenteVanInschrijving; "" when unverified (issue 18)
    restricted: bool = False  # restriction of processing (AVG art. 18): not disclosed in matches
    client_reference: str = ""  # the organisation's own case number; never in events (issue 17)
    parent_pseudonyms: tuple[str, ...] = ()  # BRP ouders, for family matches (issue 18)


# --- the request as it arrives: raw text and enum codes, validated below -------------------


@dataclass(frozen=True)
class OrganisationInput:
    organisation_id: str = ""
    name: str = ""
    legal_basis: str = ""  # enum code; "" when unspecified, "?<n>" when unknown
    legal_ground: str = ""
    domains: tuple[str, ...] = ()
    may_coordinate: bool = False


@dataclass(frozen=True)
class PartyInput:
    method: str = ""
    informed_on: str = ""
    postpone_reason: str = ""


@dataclass(frozen=True)
class InformedInput:
    # The one-record shape (one method/date or one postponement for the whole party set).
    party: str = ""
    method: str = ""
    informed_on: str = ""
    postpone_reason: str = ""
    # Per party; when either is given the one-record fields above must be empty.
    person: PartyInput | None = None
    representative: PartyInput | None = None
    representative_reason: str = ""


@dataclass(frozen=True)
class Registration:
    pseudonym: str = ""
    birth_date: str = ""
    professional: Contact = dataclasses.field(default_factory=lambda: Contact(professional_id="", name=""))
    organisation: OrganisationInput = dataclasses.field(default_factory=OrganisationInput)
    informed: InformedInput = dataclasses.field(default_factory=InformedInput)
    multi_problem_attested: bool = False
    consent_given: bool = False
    consent_by: str = ""
    under_guardianship: bool = False
    municipality_code: str = ""
    client_reference: str = ""
    parent_pseudonyms: tuple[str, ...] = ()


# --- small rules -----------------------------------------------------------------------


def today(now: datetime) -> date:
    """The calendar date in the Netherlands at moment `now`."""
    return now.astimezone(TIMEZONE).date()


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day` (someone born on 29 February has a birthday on 1 March)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def required_informed_party(age: int) -> InformedParty:
    """Who must be informed of a signal on a person of this age."""
    if age < 12:
        return InformedParty.LEGAL_REPRESENTATIVE
    if age < 16:
        return InformedParty.BOTH
    return InformedParty.PERSON


def adult_regime(age: int) -> bool:
    """From 23 the youth regime ends: multi-problem attestation (and consent) are required."""
    return age >= ADULT_REGIME_AGE


def parse_iso_date(raw: str, field: str, *, missing: str, invalid: str) -> date:
    """A YYYY-MM-DD date or InvalidArgument with a precise reason."""
    text = raw.strip()
    if not text:
        raise InvalidArgument(missing, f"{field} ontbreekt.")
    if not _ISO_DATE.match(text):
        raise InvalidArgument(invalid, f"{field} moet een datum zijn in de vorm JJJJ-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(invalid, f"{field} is geen bestaande datum.") from None


def _enum(cls: type[E], code: str, *, field: str, missing: str | None, unknown: str) -> E | None:
    """The enum member for `code`; None when empty and allowed; InvalidArgument otherwise."""
    if not code:
        if missing is None:
            return None
        raise InvalidArgument(missing, f"{field} ontbreekt.")
    try:
        return cls(code)
    except ValueError:
        raise InvalidArgument(unknown, f"{field} heeft een onbekende waarde.") from None


def _text(value: str, field: str, reason_missing: str, reason_long: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidArgument(reason_missing, f"{field} ontbreekt.")
    if len(text) > MAX_TEXT:
        raise InvalidArgument(reason_long, f"{field} is te lang (maximaal {MAX_TEXT} tekens).")
    return text


def _optional_text(value: str, field: str, reason_long: str) -> str:
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise InvalidArgument(reason_long, f"{field} is te lang (maximaal {MAX_TEXT} tekens).")
    return text


# --- validation ------------------------------------------------------------------------


def validate_birth_date(raw: str, day: date) -> date:
    birth_date = parse_iso_date(
        raw, "De geboortedatum", missing="birth_date_missing", invalid="birth_date_invalid"
    )
    if birth_date > day:
        raise InvalidArgument("birth_date_in_future", "De geboortedatum ligt in de toekomst.")
    if birth_date < EARLIEST_BIRTH_DATE:
        raise InvalidArgument("birth_date_too_early", "De geboortedatum ligt vóór 1900.")
    return birth_date


def validate_contact(raw: Contact, organisation: Organisation) -> Contact:
    """The contact snapshot: id, name and e-mail required; role and phone kept when given."""
    professional_id = _text(
        raw.professional_id, "De professional", "professional_id_missing", "professional_id_too_long"
    )
    name = _text(raw.name, "De naam van de professional", "contact_name_missing", "contact_name_too_long")
    email = _text(
        raw.email, "Het e-mailadres van de professional", "contact_email_missing", "contact_email_too_long"
    )
    if not _EMAIL.match(email):
        raise InvalidArgument("contact_email_invalid", "Het e-mailadres van de professional is ongeldig.")
    if raw.organisation_id.strip() and raw.organisation_id.strip() != organisation.organisation_id:
        raise InvalidArgument(
            "organisation_mismatch", "De professional hoort niet bij de opgegeven organisatie."
        )
    return Contact(
        professional_id=professional_id,
        name=name,
        role=_optional_text(raw.role, "De functie van de professional", "contact_role_too_long"),
        phone=_optional_text(raw.phone, "Het telefoonnummer van de professional", "contact_phone_too_long"),
        email=email,
        organisation_id=organisation.organisation_id,
        organisation_name=organisation.name,
    )


def validate_organisation(raw: OrganisationInput) -> Organisation:
    organisation_id = _text(
        raw.organisation_id, "De organisatie", "organisation_missing", "organisation_id_too_long"
    )
    legal_basis = _enum(
        LegalBasis,
        raw.legal_basis,
        field="De grondslag van de organisatie",
        missing="legal_basis_missing",
        unknown="legal_basis_unknown",
    )
    assert legal_basis is not None
    legal_ground = _optional_text(raw.legal_ground, "De wettelijke grondslag", "legal_ground_too_long")
    if legal_basis is LegalBasis.LEGAL_GROUND and not legal_ground:
        raise InvalidArgument(
            "legal_ground_missing",
            "De organisatie signaleert zonder toestemming: de wettelijke grondslag moet genoemd worden.",
        )
    domains: list[str] = []
    for domain in raw.domains:
        code = domain.strip()
        if code not in DOMAINS:
            raise InvalidArgument("domain_unknown", "De organisatie heeft een onbekend werkdomein.")
        if code not in domains:
            domains.append(code)
    return Organisation(
        organisation_id=organisation_id,
        name=_optional_text(raw.name, "De naam van de organisatie", "organisation_name_too_long"),
        legal_basis=legal_basis,
        legal_ground=legal_ground if legal_basis is LegalBasis.LEGAL_GROUND else "",
        domains=tuple(domains),
        may_coordinate=raw.may_coordinate,
    )


def allowed_parties(age: int, under_guardianship: bool) -> frozenset[InformedParty]:
    """Who may be recorded as informed about a person of this age (see the module notes)."""
    if age < 12:
        return frozenset({InformedParty.LEGAL_REPRESENTATIVE})
    if age < 16:
        return frozenset({InformedParty.BOTH})
    if age < MAJORITY_AGE:
        return frozenset({InformedParty.PERSON, InformedParty.BOTH})
    if under_guardianship:
        return frozenset(InformedParty)
    return frozenset({InformedParty.PERSON})


def check_guardianship(age: int, under_guardianship: bool) -> bool:
    """Curatele and mentorschap exist only for adults; below 18 the parents represent."""
    if under_guardianship and age < MAJORITY_AGE:
        raise InvalidArgument(
            "guardianship_minor",
            "Curatele of mentorschap is er alleen voor volwassenen (18 jaar of ouder); "
            "tot 18 jaar zijn de ouders of de voogd de wettelijk vertegenwoordiger.",
        )
    return under_guardianship


def representative_reason(age: int, under_guardianship: bool) -> RepresentativeReason | None:
    """Why a person of 16 or older has a representative (below 16 it goes without saying)."""
    if age < 16:
        return None
    if age < MAJORITY_AGE:
        return RepresentativeReason.MINOR
    return RepresentativeReason.GUARDIANSHIP if under_guardianship else None


def validate_informed_on(raw: str, birth_date: date, day: date) -> date:
    informed_on = parse_iso_date(
        raw, "De datum van informeren", missing="informed_on_missing", invalid="informed_on_invalid"
    )
    if informed_on > day:
        raise InvalidArgument("informed_on_in_future", "De datum van informeren ligt in de toekomst.")
    if informed_on < birth_date:
        raise InvalidArgument(
            "informed_on_before_birth", "De datum van informeren ligt vóór de geboortedatum."
        )
    return informed_on


def party_informing(raw: PartyInput, birth_date: date, day: date) -> PartyInforming:
    """One party: informed (method and date) or postponed (a reason code), never both."""
    method = _enum(
        InformedMethod,
        raw.method,
        field="Hoe is geïnformeerd",
        missing=None,
        unknown="informed_method_unknown",
    )
    postpone = _enum(
        PostponeReason,
        raw.postpone_reason,
        field="De reden van uitstel",
        missing=None,
        unknown="postpone_reason_unknown",
    )
    if postpone is not None:
        if method is not None or raw.informed_on.strip():
            raise InvalidArgument(
                "informed_conflicting",
                "Geef óf vast hoe en wanneer is geïnformeerd, óf waarom informeren is uitgesteld, niet beide.",
            )
        return PartyInforming(postpone_reason=postpone)
    if method is None:
        raise InvalidArgument("informed_method_missing", "Hoe is geïnformeerd ontbreekt.")
    return PartyInforming(method=method, informed_on=validate_informed_on(raw.informed_on, birth_date, day))


def validate_informed(
    raw: InformedInput, birth_date: date, day: date, *, under_guardianship: bool = False
) -> Informed:
    """The informed-record, checked against the age regime of the person on `day`."""
    age = age_on(birth_date, day)
    reason = _enum(
        RepresentativeReason,
        raw.representative_reason,
        field="De reden voor een vertegenwoordiger",
        missing=None,
        unknown="representative_reason_unknown",
    )
    guardianship = check_guardianship(age, under_guardianship or reason is RepresentativeReason.GUARDIANSHIP)
    if reason is RepresentativeReason.MINOR and age >= MAJORITY_AGE:
        raise InvalidArgument(
            "representative_reason_wrong_for_age",
            "De persoon is 18 jaar of ouder: een vertegenwoordiger is er dan alleen bij curatele of mentorschap.",
        )
    allowed = allowed_parties(age, guardianship)
    if raw.person is not None or raw.representative is not None:
        if raw.party or raw.method or raw.informed_on.strip() or raw.postpone_reason:
            raise InvalidArgument(
                "informed_conflicting",
                "Leg het informeren per partij vast, of in één keer voor allen, niet beide.",
            )
        party = (
            InformedParty.BOTH
            if raw.person is not None and raw.representative is not None
            else InformedParty.PERSON
            if raw.person is not None
            else InformedParty.LEGAL_REPRESENTATIVE
        )
        if party not in allowed:
            raise _wrong_party(age, guardianship)
        return Informed(
            person=party_informing(raw.person, birth_date, day) if raw.person else None,
            representative=party_informing(raw.representative, birth_date, day)
            if raw.representative
            else None,
            representative_reason=representative_reason(age, guardianship) if raw.representative else None,
        )
    # One record for the whole party set (the original request shape).
    given = _enum(
        InformedParty, raw.party, field="Wie is geïnformeerd", missing=None, unknown="informed_party_unknown"
    )
    if given is None and not raw.postpone_reason:
        raise InvalidArgument(
            "informed_missing",
            "Leg vast wie is geïnformeerd over het signaal, of waarom dat is uitgesteld.",
        )
    party = given or required_informed_party(age)
    if party not in allowed:
        raise _wrong_party(age, guardianship)
    record = party_informing(
        PartyInput(method=raw.method, informed_on=raw.informed_on, postpone_reason=raw.postpone_reason),
        birth_date,
        day,
    )
    has_representative = party is not InformedParty.PERSON
    return Informed(
        person=record if party is not InformedParty.LEGAL_REPRESENTATIVE else None,
        representative=record if has_representative else None,
        representative_reason=representative_reason(age, guardianship) if has_representative else None,
    )


def _wrong_party(age: int, under_guardianship: bool) -> InvalidArgument:
    if age < 12:
        text = "Bij een kind jonger dan 12 jaar informeert u de wettelijk vertegenwoordiger (ouder of voogd)."
    elif age < 16:
        text = (
            "Bij een kind van 12 tot en met 15 jaar informeert u het kind én de wettelijk "
            "vertegenwoordiger; uitstellen kan per partij."
        )
    elif age < MAJORITY_AGE:
        text = (
            "Vanaf 16 jaar informeert u de persoon zelf; tot 18 jaar mag u daarnaast ook de "
            "wettelijk vertegenwoordiger informeren."
        )
    else:
        text = (
            "Bij een volwassene informeert u de persoon zelf; een wettelijk vertegenwoordiger alleen "
            "bij curatele of mentorschap."
        )
    return InvalidArgument(
        "informed_party_wrong_for_age", text, required_party=required_informed_party(age).value
    )


# --- consent by profile ----------------------------------------------------------------


def required_consent_by(age: int, under_guardianship: bool) -> ConsentBy:
    """Whose consent a consent-based organisation needs: under 16 and under guardianship the
    legal representative, otherwise the person."""
    if age < 16 or under_guardianship:
        return ConsentBy.LEGAL_REPRESENTATIVE
    return ConsentBy.PERSON


def accepted_consent(age: int, under_guardianship: bool) -> frozenset[ConsentBy]:
    """The required consent, plus "both" where the person can take part (12+ with a representative)."""
    required = required_consent_by(age, under_guardianship)
    if required is ConsentBy.LEGAL_REPRESENTATIVE and age >= 12:
        return frozenset({required, ConsentBy.BOTH})
    return frozenset({required})


_CONSENT_TEXT = {
    ConsentBy.PERSON: "de persoon zelf",
    ConsentBy.LEGAL_REPRESENTATIVE: "de wettelijk vertegenwoordiger",
    ConsentBy.BOTH: "de persoon én de wettelijk vertegenwoordiger",
}


def check_consent(
    age: int, under_guardianship: bool, legal_basis: LegalBasis, consent_given: bool, consent_by_code: str
) -> ConsentBy | None:
    """Whose consent is recorded; refused when a consent-based organisation lacks the right one."""
    consent_by = _enum(
        ConsentBy, consent_by_code, field="Wie toestemming gaf", missing=None, unknown="consent_by_unknown"
    )
    if legal_basis is LegalBasis.LEGAL_GROUND:
        return consent_by  # the legal ground is the basis; consent is stored if given
    required = required_consent_by(age, under_guardianship)
    if consent_by is None:
        if not consent_given:
            raise InvalidArgument(
                "consent_missing",
                "Uw organisatie signaleert met toestemming: "
                f"{_CONSENT_TEXT[required]} moet toestemming hebben gegeven.",
                required_consent_by=required.value,
            )
        return required
    if consent_by not in accepted_consent(age, under_guardianship):
        raise InvalidArgument(
            "consent_wrong_party",
            f"Bij deze persoon is de toestemming van {_CONSENT_TEXT[required]} nodig.",
            required_consent_by=required.value,
        )
    return consent_by


def check_adult_regime(
    age: int, legal_basis: LegalBasis, multi_problem_attested: bool, consent_given: bool
) -> None:
    """From 23: attested multi-problem involvement, and consent when signalling with consent."""
    if not adult_regime(age):
        return
    if not multi_problem_attested:
        raise InvalidArgument(
            "multi_problem_not_attested",
            "Voor een persoon van 23 jaar of ouder moet u verklaren dat er sprake is van meervoudige problematiek.",
        )
    if legal_basis is LegalBasis.CONSENT and not consent_given:
        raise InvalidArgument(
            "consent_missing",
            "Uw organisatie signaleert met toestemming: de persoon moet toestemming hebben gegeven.",
        )


def validate_pseudonym(raw: str) -> str:
    return _text(raw, "Het pseudoniem", "pseudonym_missing", "pseudonym_too_long")


def new_signal(registration: Registration, signal_id: str, now: datetime) -> Signal:
    """A valid, active signal from a registration, or InvalidArgument saying what is wrong."""
    day = today(now)
    pseudonym = validate_pseudonym(registration.pseudonym)
    birth_date = validate_birth_date(registration.birth_date, day)
    organisation = validate_organisation(registration.organisation)
    professional = validate_contact(registration.professional, organisation)
    age = age_on(birth_date, day)
    guardianship = check_guardianship(
        age,
        registration.under_guardianship
        or registration.informed.representative_reason == RepresentativeReason.GUARDIANSHIP.value,
    )
    informed = validate_informed(registration.informed, birth_date, day, under_guardianship=guardianship)
    consent_by = check_consent(
        age, guardianship, organisation.legal_basis, registration.consent_given, registration.consent_by
    )
    consent_given = registration.consent_given or consent_by is not None
    check_adult_regime(age, organisation.legal_basis, registration.multi_problem_attested, consent_given)
    return Signal(
        signal_id=signal_id,
        pseudonym=pseudonym,
        birth_date=birth_date,
        professional=professional,
        organisation=organisation,
        informed=informed,
        multi_problem_attested=registration.multi_problem_attested,
        consent_given=consent_given,
        status=Status.ACTIVE,
        end_reason=None,
        registered_at=now,
        active_until=now + ACTIVE_PERIOD,
        consent_by=consent_by,
        under_guardianship=guardianship,
        municipality_code=registration.municipality_code[:4],
        client_reference=clientref.normalise(registration.client_reference),
        # A person has at most two legal parents; more is not from the BRP.
        parent_pseudonyms=tuple(dict.fromkeys(p for p in registration.parent_pseudonyms if p))[:2],
    )


# --- lifetime --------------------------------------------------------------------------


def may_renew(active_until: datetime, now: datetime) -> bool:
    """Renewal is allowed in the last 90 days before the signal lapses (and not after)."""
    return now < active_until <= now + RENEWAL_WINDOW


def renewed(
    signal: Signal, now: datetime, *, multi_problem_attested: bool, consent_given: bool, consent_by: str = ""
) -> Signal:
    """The signal renewed for another active period; the consent and 23+ rules apply at renewal
    as at registration, for the person's age now (issue 22)."""
    if signal.status is not Status.ACTIVE:
        raise FailedPrecondition("signal_not_active", "Dit signaal is niet meer actief.")
    # A youth-regime signal about to age out is re-attested by renewing it (adult regime).
    ages_out = youth_regime(signal) and turns_adult_by(signal.birth_date, now + RENEWAL_WINDOW)
    if not (may_renew(signal.active_until, now) or ages_out):
        raise FailedPrecondition(
            "renewal_window_closed",
            "Een signaal kan alleen verlengd worden in de laatste 3 maanden voordat het verloopt.",
        )
    # Renewal is a new decision: the attestation and consent of then are not carried over.
    attested = multi_problem_attested
    age = age_on(signal.birth_date, today(now))
    # From 23 the attestation is asked first (then consent), as at registration.
    check_adult_regime(
        max(age, ADULT_REGIME_AGE) if ages_out else age,
        signal.organisation.legal_basis,
        attested,
        consent_given or bool(consent_by),
    )
    given_by = check_consent(
        age, signal.under_guardianship, signal.organisation.legal_basis, consent_given, consent_by
    )
    consent = consent_given or given_by is not None
    return dataclasses.replace(
        signal,
        active_until=now + ACTIVE_PERIOD,
        multi_problem_attested=attested,
        consent_given=consent,
        consent_by=given_by,
        version=signal.version + 1,
    )


def professional_end_reason(code: str) -> EndReason:
    """The reason a professional gives for ending their signal."""
    reason = _enum(
        EndReason,
        code,
        field="De reden van beëindigen",
        missing="end_reason_missing",
        unknown="end_reason_unknown",
    )
    assert reason is not None
    if reason not in PROFESSIONAL_END_REASONS:
        raise InvalidArgument(
            "end_reason_not_allowed",
            "Kies als reden: doel bereikt, onterecht of anders.",
        )
    return reason


def end(signal: Signal, reason: EndReason, now: datetime) -> Signal | None:
    """An active signal ended: archived (kept 5 years), or None when it is deleted at once."""
    if signal.status is not Status.ACTIVE:
        raise FailedPrecondition("signal_not_active", "Dit signaal is niet meer actief.")
    if reason in DELETE_AT_ONCE:
        return None
    return ended(signal, reason, now)


def ended(signal: Signal, reason: EndReason, now: datetime) -> Signal:
    """The signal archived: inactive, kept RETENTION_PERIOD, then deleted."""
    if signal.status is not Status.ACTIVE:
        raise FailedPrecondition("signal_not_active", "Dit signaal is niet meer actief.")
    return dataclasses.replace(
        signal,
        status=Status.ARCHIVED,
        end_reason=reason,
        ended_at=now,
        delete_after=now + RETENTION_PERIOD,
        version=signal.version + 1,
    )


def with_restriction(signal: Signal, restricted: bool) -> Signal | None:
    """The signal with its processing restricted or the restriction lifted (AVG art. 18), or
    None when nothing changes. Any status: an archived signal stays restricted in the access
    document's sense, but only an active one is disclosed in matches."""
    if signal.restricted == restricted:
        return None
    return dataclasses.replace(signal, restricted=restricted, version=signal.version + 1)


def lapsed(signal: Signal) -> Signal:
    """A signal whose active period is over: archived as of the moment it lapsed.

    The lifecycle job does this in bulk in SQL (store.expire_batch); a test checks that the
    rows it writes equal this function's result.
    """
    return ended(signal, EndReason.EXPIRED, signal.active_until)


def youth_regime(signal: Signal) -> bool:
    """Registered (or renewed) without the multi-problem attestation: valid only under 23."""
    return signal.status is Status.ACTIVE and not signal.multi_problem_attested


def adult_born_on_or_before(day: date) -> date:
    """The latest birth date of a person who is ADULT_REGIME_AGE or older on `day` (age_on)."""
    year = day.year - ADULT_REGIME_AGE
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February: born on 1 March of that year is not 23 yet
        return date(year, 2, 28)


FAMILY_ADULT_AGE = 18  # a family match counts a person as a child until this birthday


def adult_on(birth_date: date) -> date:
    """The day the person turns 18: from then on they leave their parents' family matches."""
    try:
        return birth_date.replace(year=birth_date.year + FAMILY_ADULT_AGE)
    except ValueError:  # born 29 February: 18 on 1 March
        return date(birth_date.year + FAMILY_ADULT_AGE, 3, 1)


def turns_adult_by(birth_date: date, moment: datetime) -> bool:
    """The person is ADULT_REGIME_AGE or older on the Dutch calendar day of `moment`."""
    return birth_date <= adult_born_on_or_before(today(moment))


def aged_out(signal: Signal, now: datetime) -> bool:
    """A youth-regime signal on a person who turned 23 ends (lifecycle job, reason aged_out)."""
    return youth_regime(signal) and turns_adult_by(signal.birth_date, now)


def age_reminder_due(signal: Signal, now: datetime) -> bool:
    """The professional is told 30 days before a youth-regime signal ages out (once)."""
    return youth_regime(signal) and turns_adult_by(signal.birth_date, now + REMINDER_BEFORE)


@dataclass(frozen=True)
class LifecycleCutoffs:
    """The moments the lifecycle job compares with, as of one run at `now`."""

    purge_until: datetime  # archived signals with delete_after at or before this are deleted
    expire_until: datetime  # active signals with active_until at or before this lapse
    remind_after: datetime  # a reminder is due for active_until in (remind_after, remind_until]
    remind_until: datetime
    aged_out_born_until: date  # youth-regime signals on people born on or before this end
    age_remind_born_until: date  # ... and on people born on or before this get a reminder


def lifecycle_cutoffs(now: datetime) -> LifecycleCutoffs:
    """The cut-offs of `reminder_due`, `expired`, `aged_out`, `age_reminder_due` and the
    retention period, for the SQL."""
    return LifecycleCutoffs(
        purge_until=now,
        expire_until=now,
        remind_after=now,
        remind_until=now + REMINDER_BEFORE,
        aged_out_born_until=adult_born_on_or_before(today(now)),
        age_remind_born_until=adult_born_on_or_before(today(now + REMINDER_BEFORE)),
    )


def signal_not_found() -> NotFound:
    """The same answer for an unknown id and for somebody else's signal: no existence leak."""
    return NotFound("signal_not_found", "Dit signaal bestaat niet.")


def owned(signal: Signal | None, professional_id: str) -> Signal:
    """The signal, if it is this professional's; otherwise not found (never "not yours")."""
    if signal is None or signal.professional.professional_id != professional_id:
        raise signal_not_found()
    return signal


def removal_reason(code: str) -> EndReason:
    """Removing a signal (without archive) is only allowed after an upheld objection."""
    reason = code or EndReason.OBJECTION_UPHELD.value
    if reason != EndReason.OBJECTION_UPHELD.value:
        raise InvalidArgument(
            "remove_reason_not_allowed", "Een signaal wordt alleen verwijderd na een gegrond bezwaar."
        )
    return EndReason.OBJECTION_UPHELD


def reminder_due(active_until: datetime, now: datetime) -> bool:
    """A lapse reminder is due in the last 30 days of the active period (store.remind_batch)."""
    return now < active_until <= now + REMINDER_BEFORE


def expired(active_until: datetime, now: datetime) -> bool:
    """The active period is over (store.expire_batch; purged RETENTION_PERIOD later)."""
    return active_until <= now


# --- professionals who leave (issue 12) -------------------------------------------------


def transferred(signal: Signal, to: Contact) -> Signal:
    """The active signal held by a colleague of the same organisation; its dates are kept.

    `to` must be a validated contact (validate_contact) of the signal's organisation.
    """
    if signal.status is not Status.ACTIVE:
        raise FailedPrecondition("signal_not_active", "Dit signaal is niet meer actief.")
    if to.organisation_id != signal.organisation.organisation_id:
        raise InvalidArgument("organisation_mismatch", "De collega hoort niet bij dezelfde organisatie.")
    if to.professional_id == signal.professional.professional_id:
        raise InvalidArgument("transfer_to_self", "Draag signalen over aan een andere professional.")
    holder = dataclasses.replace(to, organisation_name=signal.organisation.name)
    return dataclasses.replace(signal, professional=holder, version=signal.version + 1)


# --- completing a postponed informing ----------------------------------------------------

# How long a postponement may stand before the professional is reminded; regions set their
# own (SLUIS_INFORMING_REMINDER_DAYS).
INFORMING_REMINDER_AFTER = timedelta(days=14)


def informing_completed(signal: Signal, party_code: str, raw: PartyInput, now: datetime) -> Signal:
    """The signal with a postponed party now informed (`both` completes every postponed one)."""
    if signal.status is not Status.ACTIVE:
        raise FailedPrecondition("signal_not_active", "Dit signaal is niet meer actief.")
    party = _enum(
        InformedParty,
        party_code,
        field="Wie is geïnformeerd",
        missing="informed_party_missing",
        unknown="informed_party_unknown",
    )
    assert party is not None
    record = party_informing(raw, signal.birth_date, today(now))
    if record.postponed:
        raise InvalidArgument(
            "informed_method_missing", "Leg vast hoe en wanneer is geïnformeerd; uitstellen kan hier niet."
        )
    informed = signal.informed
    person, representative = informed.person, informed.representative
    if party is not InformedParty.LEGAL_REPRESENTATIVE:
        person = _completed(person, record)
    if party is not InformedParty.PERSON:
        representative = _completed(representative, record)
    return dataclasses.replace(
        signal,
        informed=dataclasses.replace(informed, person=person, representative=representative),
        version=signal.version + 1,
    )


def _completed(current: PartyInforming | None, record: PartyInforming) -> PartyInforming:
    if current is None:
        raise InvalidArgument(
            "informed_party_not_recorded", "Deze partij hoort niet bij het informeren over dit signaal."
        )
    if not current.postponed:
        raise FailedPrecondition("informed_already", "Deze partij is al geïnformeerd.")
    return record


def informing_reminder_due(
    signal: Signal, now: datetime, after: timedelta = INFORMING_REMINDER_AFTER
) -> bool:
    """An active signal whose informing is still (partly) postponed `after` registration."""
    return (
        signal.status is Status.ACTIVE and signal.informed.postponed and signal.registered_at + after <= now
    )
