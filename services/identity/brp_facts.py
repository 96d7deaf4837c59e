"""What SluiS derives from a BRP person: plain functions, no I/O (issue 18).

The BRP answer (Haal Centraal BRP Bevragen, `Persoon`) is read here and reduced to the few
facts SluiS needs. Nothing of the answer is stored; the BSNs of relatives stay inside
identity, which turns them into pseudonyms before anything leaves the service.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

# The only fields asked for (`fields` of RaadpleegMetBurgerservicenummer): data minimisation.
FIELDS = (
    "burgerservicenummer",
    "geboorte.datum",
    "gemeenteVanInschrijving",
    "overlijden",
    "ouders.burgerservicenummer",
    "kinderen.burgerservicenummer",
)
HOUSEHOLD_FIELD = "verblijfplaats.adresseerbaarObjectIdentificatie"


@dataclass(frozen=True)
class PersonFacts:
    """One person as the BRP knows them, reduced. BSNs here never leave identity."""

    bsn: str
    birth_date: date | None
    municipality: str
    deceased: bool
    deceased_on: date | None
    parents: tuple[str, ...]
    children: tuple[str, ...]


def fields(*, household: bool = False) -> list[str]:
    return [*FIELDS, HOUSEHOLD_FIELD] if household else list(FIELDS)


def _full_date(value: Any) -> date | None:
    """A BRP date object (`Datum`, `JaarDatum`, ...) as a date when it is complete."""
    if isinstance(value, dict) and value.get("type") == "Datum" and isinstance(value.get("datum"), str):
        try:
            return date.fromisoformat(value["datum"])
        except ValueError:
            return None
    return None


def _bsns(relatives: Any) -> tuple[str, ...]:
    if not isinstance(relatives, list):
        return ()
    return tuple(
        r["burgerservicenummer"] for r in relatives if isinstance(r, dict) and r.get("burgerservicenummer")
    )


def facts_from_persoon(persoon: dict[str, Any]) -> PersonFacts:
    overlijden = persoon.get("overlijden")
    gemeente = persoon.get("gemeenteVanInschrijving") or {}
    return PersonFacts(
        bsn=str(persoon.get("burgerservicenummer", "")),
        birth_date=_full_date((persoon.get("geboorte") or {}).get("datum")),
        municipality=str(gemeente.get("code", "")) if isinstance(gemeente, dict) else "",
        # The BRP only delivers `overlijden` for a deceased person (with inclusiefOverledenPersonen).
        deceased=isinstance(overlijden, dict) and bool(overlijden),
        deceased_on=_full_date(overlijden.get("datum")) if isinstance(overlijden, dict) else None,
        parents=_bsns(persoon.get("ouders")),
        children=_bsns(persoon.get("kinderen")),
    )


def birth_date_matches(facts: PersonFacts, claimed: date) -> bool:
    """An incomplete BRP birth date (year or month only) matches on what is known."""
    if facts.birth_date is not None:
        return facts.birth_date == claimed
    return True
