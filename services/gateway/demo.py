"""`seed-demo`: demo organisations, professionals and admins with fixed development keys.

Idempotent: running it again updates the same rows and keeps the same keys. The keys are
stored hashed like every other key; they are printed because they are public demo keys.
"""

import base64
import hashlib
from typing import Any

from werkzeug.security import generate_password_hash

from services.gateway import domain
from services.gateway.store import GatewayStore, open_pool

ORGANISATIONS: tuple[dict[str, Any], ...] = (
    {
        "slug": "wijkteam",
        "name": "Wijkteam Noord",
        "legal_basis": "consent",
        "legal_ground": "",
        "domains": ["care"],
        "may_coordinate": True,
        "professionals": (
            ("anna", "Anna de Vries", "wijkteammedewerker", "010-1234501"),
            ("bram", "Bram Jansen", "maatschappelijk werker", "010-1234502"),
        ),
    },
    {
        "slug": "kredietbank",
        "name": "Kredietbank",
        "legal_basis": "consent",
        "legal_ground": "",
        "domains": ["debt"],
        "may_coordinate": True,
        "professionals": (
            ("carla", "Carla Bakker", "schuldhulpverlener", "010-1234503"),
            ("daan", "Daan Visser", "budgetcoach", "010-1234504"),
        ),
    },
    {
        "slug": "politie",
        "name": "Politie — wijkagent",
        "legal_basis": "legalGround",
        "legal_ground": "Politiewet art. 3",
        "domains": ["safety"],
        "may_coordinate": False,
        "professionals": (
            ("eva", "Eva Smit", "wijkagent", "010-1234505"),
            ("fatima", "Fatima El Amrani", "wijkagent", "010-1234506"),
        ),
    },
)


# The portal password of every demo person; their TOTP secrets are derived from the e-mail.
DEMO_PASSWORD = "demo-wachtwoord-2026"  # noqa: S105 - a public demo password


def demo_totp_secret(email: str) -> str:
    """A fixed, public TOTP secret per demo person (base32), so tests and `make run` can log in."""
    return base64.b32encode(hashlib.sha256(b"sluis-demo-totp:" + email.encode()).digest()[:20]).decode()


def seed_demo(database_url: str, region: str) -> dict[str, Any]:
    """Create (or refresh) the demo data in the gateway database; return it with the keys."""
    pool = open_pool(database_url, max_size=2)
    try:
        return _seed(GatewayStore(pool), region)
    finally:
        pool.close()


def _seed(store: GatewayStore, region: str) -> dict[str, Any]:
    professionals: list[dict[str, Any]] = []
    admins: list[dict[str, Any]] = []
    # One hash for all demo people: scrypt is slow on purpose.
    password_hash = generate_password_hash(DEMO_PASSWORD)

    def portal_login(email: str, kind: str, subject_id: Any) -> dict[str, str]:
        secret = demo_totp_secret(email)
        store.set_web_account(
            email=email, kind=kind, subject_id=subject_id, password_hash=password_hash, totp_secret=secret
        )
        return {"password": DEMO_PASSWORD, "totpSecret": secret}

    for spec in ORGANISATIONS:
        org = store.upsert_organisation(
            region=region,
            name=spec["name"],
            legal_basis=spec["legal_basis"],
            legal_ground=spec["legal_ground"],
            domains=spec["domains"],
            may_coordinate=spec["may_coordinate"],
        )
        for slug, name, role, phone in spec["professionals"]:
            email = f"{slug}@{spec['slug']}.{region}.sluis.example"
            pro = store.upsert_professional(
                organisation_id=org.id, name=name, role=role, phone=phone, email=email
            )
            key = f"demo-{spec['slug']}-{slug}"
            store.add_credential(
                key_hash=domain.hash_api_key(key),
                kind="professional",
                region=region,
                organisation_id=org.id,
                professional_id=pro.id,
                name="demo",
            )
            professionals.append(
                {
                    "id": str(pro.id),
                    "name": name,
                    "email": email,
                    "organisation": org.name,
                    "organisationId": str(org.id),
                    "apiKey": key,
                    **portal_login(email, "professional", pro.id),
                }
            )
        admin = store.upsert_admin(
            role="organisationAdmin",
            region=region,
            organisation_id=org.id,
            name=f"Beheer {org.name}",
            email=f"beheer@{spec['slug']}.{region}.sluis.example",
        )
        key = f"demo-{spec['slug']}-admin"
        store.add_credential(
            key_hash=domain.hash_api_key(key),
            kind="admin",
            region=region,
            organisation_id=org.id,
            admin_id=admin.id,
            name="demo",
        )
        admins.append(
            {
                "id": str(admin.id),
                "name": admin.name,
                "email": admin.email,
                "role": "organisationAdmin",
                "organisation": org.name,
                "organisationId": str(org.id),
                "apiKey": key,
                **portal_login(admin.email, "admin", admin.id),
            }
        )
    region_admin = store.upsert_admin(
        role="regionAdmin",
        region=region,
        organisation_id=None,
        name=f"Regiobeheer {region}",
        email=f"regiobeheer@{region}.sluis.example",
    )
    key = f"demo-{region}-regionadmin"
    store.add_credential(
        key_hash=domain.hash_api_key(key), kind="admin", region=region, admin_id=region_admin.id, name="demo"
    )
    admins.append(
        {
            "id": str(region_admin.id),
            "name": region_admin.name,
            "email": region_admin.email,
            "role": "regionAdmin",
            "organisation": None,
            "organisationId": None,
            "apiKey": key,
            **portal_login(region_admin.email, "admin", region_admin.id),
        }
    )
    return {"region": region, "professionals": professionals, "admins": admins}
