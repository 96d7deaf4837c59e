"""Identity's side of the BRP link: verify at registration, facts for the re-check (issue 18).

Only derived facts leave this module: whether the birth date matched, the municipality
code, death and the pseudonyms of parents and children. BSNs stay in memory for the call.
"""

from collections.abc import Mapping, Sequence
from datetime import date

from services.common.errors import InvalidArgument
from services.identity import brp_facts, domain
from services.identity.brp import BrpClient
from services.identity.vault import BsnVault, base_point

BIRTH_DATE_MISMATCH = (
    "De geboortedatum hoort niet bij dit BSN volgens de Basisregistratie Personen. "
    "Controleer het BSN en de geboortedatum."
)


class BrpLink:
    def __init__(self, client: BrpClient, vault: BsnVault) -> None:
        self.client = client
        self.vault = vault

    async def verify(self, bsn: str, birth_date: str, point: bytes) -> brp_facts.PersonFacts:
        """The BRP facts of a registration whose birth date the BRP confirms (BSNs stay here).

        Keeps a vault entry (the person now has an active signal) for the daily re-check.
        """
        try:
            claimed = date.fromisoformat(birth_date)
        except ValueError:
            raise InvalidArgument(
                "birth_date_format", "Ongeldige geboortedatum.", field="birthDate"
            ) from None
        bsn = domain.normalise_bsn(bsn)
        found = (await self.client.lookup([bsn])).get(bsn)
        # A BSN the BRP does not know gets the same answer as a wrong birth date: the
        # professional checks both, and nothing is said about SluiS's own data.
        if found is None or not brp_facts.birth_date_matches(found, claimed):
            raise InvalidArgument("birth_date_mismatch", BIRTH_DATE_MISMATCH, field="birthDate")
        await self.vault.keep(bsn, point)
        return found

    async def verify_many(
        self, items: Sequence[tuple[str, str, bytes]]
    ) -> list[brp_facts.PersonFacts | None]:
        """Per (bsn, claimed birth date, H(bsn)): the BRP facts, or None on a mismatch."""
        found = await self.client.lookup_many(sorted({domain.normalise_bsn(b) for b, _, _ in items}))
        out: list[brp_facts.PersonFacts | None] = []
        for bsn, birth_date, point in items:
            f = found.get(domain.normalise_bsn(bsn))
            try:
                claimed = date.fromisoformat(birth_date)
            except ValueError:
                claimed = None
            if f is None or claimed is None or not brp_facts.birth_date_matches(f, claimed):
                out.append(None)
                continue
            await self.vault.keep(f.bsn, point)
            out.append(f)
        return out

    async def facts(
        self, pseudonyms: Sequence[str], keys: Mapping[int, bytes], version: int, scalar: bytes
    ) -> list[dict[str, object]]:
        """Per pseudonym (in order): known, municipality, death, relatives' pseudonyms."""
        points = [base_point(p, keys) for p in pseudonyms]
        bsns = await self.vault.bsns([p for p in points if p is not None])
        found = await self.client.lookup_many(sorted(set(bsns.values())))

        def pseudonym_of(bsn: str) -> str:
            return domain.pseudonymise(bsn, version, scalar).encode()

        out: list[dict[str, object]] = []
        for text, point in zip(pseudonyms, points, strict=True):
            bsn = bsns.get(point) if point is not None else None
            f = found.get(bsn) if bsn else None
            if f is None:
                out.append({"pseudonym": text, "known": False})
                continue
            out.append(
                {
                    "pseudonym": text,
                    "known": True,
                    "municipality_code": f.municipality,
                    "deceased": f.deceased,
                    "deceased_on": f.deceased_on.isoformat() if f.deceased_on else "",
                    "parent_pseudonyms": [pseudonym_of(b) for b in f.parents],
                    "child_pseudonyms": [pseudonym_of(b) for b in f.children],
                }
            )
        return out

    async def forget(self, pseudonyms: Sequence[str], keys: Mapping[int, bytes]) -> int:
        points = [base_point(p, keys) for p in pseudonyms]
        return await self.vault.forget([p for p in points if p is not None])
