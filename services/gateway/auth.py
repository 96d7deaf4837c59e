"""Who is calling, and what they may do: credentials, roles and THE authorisation matrix.

Every endpoint is listed in MATRIX with the roles that may call it; `authorise` is the one
place that enforces it (a before-request hook). Resource scope (own organisation, own
region, own signals) is checked by the helpers below, also here, and by the back ends for
signals and matches (they refuse anything that is not the caller's with NOT_FOUND).
"""

import uuid
from dataclasses import dataclass

from services.common.errors import NotFound, PermissionDenied, Unauthenticated
from services.gateway import domain
from services.gateway.store import GatewayStore, Organisation, Professional

PROFESSIONAL = "professional"
ORGANISATION_SYSTEM = "organisationSystem"
ORGANISATION_ADMIN = "organisationAdmin"
REGION_ADMIN = "regionAdmin"
OPERATOR = "operator"
ROLES = (PROFESSIONAL, ORGANISATION_SYSTEM, ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR)

# The header with which a system credential acts for one of its organisation's professionals.
ACTING_FOR_HEADER = "X-Professional-Id"

PUBLIC: frozenset[str] = frozenset()
_P = frozenset({PROFESSIONAL})
_ORG_ADMINS = frozenset({ORGANISATION_ADMIN, REGION_ADMIN})
_REGION = frozenset({REGION_ADMIN})
# Portal pages of one organisation (a region admin has its own pages: web/region.py).
_ORG_ADMIN = frozenset({ORGANISATION_ADMIN})
# Everybody who logs in to the portal (Mijn account).
_PEOPLE = frozenset({PROFESSIONAL, ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR})

# Endpoint (Flask endpoint name) -> roles allowed. PUBLIC: no credential needed.
# A system credential acting for a professional (X-Professional-Id) has role professional.
MATRIX: dict[str, frozenset[str]] = {
    "meta.healthz": PUBLIC,
    "meta.readyz": PUBLIC,
    "meta.openapi": PUBLIC,
    "meta.processing_activities": PUBLIC,
    "signals.register": _P,
    "signals.list_signals": _P,
    "signals.get": _P,
    "signals.change": _P,
    "signals.renew": _P,
    "signals.end": _P,
    "signals.informed": _P,
    "signals.involvement": _P,
    "matches.list_matches": _P,
    "matches.get": _P,
    "matches.take_coordinator": _P,
    "matches.hand_over_coordinator": _P,
    "matches.accept_coordinator": _P,
    "inbox.list_items": _P,
    "inbox.read": _P,
    # Coordination by agreement and mail preferences (issue 17).
    "matches.decline_coordinator": _P,
    "matches.accept_takeover": _P,
    "matches.decline_takeover": _P,
    "inbox.get_preferences": _P,
    "inbox.set_preferences": _P,
    "admin.list_organisations": frozenset({ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR}),
    "admin.create_organisation": _REGION,
    "admin.get_organisation": frozenset({ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR}),
    "admin.update_organisation": _REGION,
    "admin.list_professionals": _ORG_ADMINS,
    "admin.create_professional": _ORG_ADMINS,
    "admin.get_professional": _ORG_ADMINS,
    "admin.update_professional": _ORG_ADMINS,
    "admin.list_credentials": _ORG_ADMINS,
    "admin.create_credential": _ORG_ADMINS,
    "admin.rotate_credential": _ORG_ADMINS,
    "admin.revoke_credential": _ORG_ADMINS,
    "admin.get_coordinator_rules": frozenset({REGION_ADMIN, OPERATOR}),
    "admin.set_coordinator_rules": _REGION,
    "admin.access_request": _REGION,
    "admin.uphold_objection": _REGION,
    "admin.lift_objection_block": _REGION,
    "admin.record_death": _REGION,
    "admin.anomalies": frozenset({REGION_ADMIN, OPERATOR}),
    "admin.transfer_signals": _ORG_ADMINS,
    # Onboarding (issue 16): SluiS-wachters, login resets, lifecycle, rule preview/versions.
    "onboarding.list_admins": _ORG_ADMINS,
    "onboarding.invite_admin": _REGION,
    "onboarding.reset_admin_login": _REGION,
    "onboarding.reset_professional_login": _ORG_ADMINS,
    "onboarding.suspend": _REGION,
    "onboarding.reactivate": _REGION,
    "onboarding.offboard": _REGION,
    "onboarding.preview_rules": _REGION,
    "onboarding.rule_versions": frozenset({REGION_ADMIN, OPERATOR}),
    "admin.end_signals_of": _ORG_ADMINS,
    "statistics.get_statistics": _ORG_ADMINS,
    "admin.list_signal_reviews": _ORG_ADMINS,
    "admin.confirm_signal_review": _ORG_ADMINS,
    "admin.end_signal_review": _ORG_ADMINS,
    "bulk.create": frozenset({ORGANISATION_SYSTEM, PROFESSIONAL}),
    "bulk.get": frozenset({ORGANISATION_SYSTEM, PROFESSIONAL, ORGANISATION_ADMIN}),
    "bulk.errors": frozenset({ORGANISATION_SYSTEM, PROFESSIONAL, ORGANISATION_ADMIN}),
    # The web portal (services/gateway/web): session login instead of an API key.
    "web.static": PUBLIC,
    "web.login": PUBLIC,
    "web.login_password": PUBLIC,
    "web.login_code": PUBLIC,
    "web.login_code_check": PUBLIC,
    "web.logout": PUBLIC,
    "web.logout_everywhere": frozenset({PROFESSIONAL, ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR}),
    "web.dashboard": frozenset({PROFESSIONAL, ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR}),
    "web.signals": _P,
    "web.signal": _P,
    "web.set_reference": _P,
    "web.new_signal": _P,
    "web.register_signal": _P,
    "web.renew_signal": _P,
    "web.end_signal": _P,
    "web.complete_informing": _P,
    "web.matches": _P,
    "web.match": _P,
    "web.take_coordinator": _P,
    "web.hand_over": _P,
    "web.accept": _P,
    "web.inbox": _P,
    "web.read_item": _P,
    "web.decline": _P,
    "web.takeover_accept": _P,
    "web.takeover_decline": _P,
    "web.settings": _P,
    "web.save_settings": _P,
    "web.professionals": _ORG_ADMIN,
    "web.invite_professional": _ORG_ADMIN,
    "web.deactivate_professional": _ORG_ADMIN,
    "web.transfer_signals": _ORG_ADMIN,
    "web.end_signals_of": _ORG_ADMIN,
    "web.reset_second_factor": _ORG_ADMIN,
    "web.organisation": _ORG_ADMIN,
    "web.credentials": _ORG_ADMIN,
    "web.create_credential": _ORG_ADMIN,
    "web.rotate_credential": _ORG_ADMIN,
    "web.revoke_credential": _ORG_ADMIN,
    "web.webhooks": _ORG_ADMIN,
    "web.add_webhook": _ORG_ADMIN,
    "web.delete_webhook": _ORG_ADMIN,
    # issue 16: the rights-requests register (region admins, API and portal)
    "rights.create": _REGION,
    "rights.list_requests": _REGION,
    "rights.get": _REGION,
    "rights.start": _REGION,
    "rights.extend": _REGION,
    "rights.decide": _REGION,
    "rights.restrict": _REGION,
    "rights.lift_restriction": _REGION,
    "rights.access_document": _REGION,
    "web.rights_requests": _REGION,
    "web.new_rights_request": _REGION,
    "web.rights_request": _REGION,
    "web.rights_request_action": _REGION,
    "web.rights_access_document": _REGION,
    "web.statistics": _ORG_ADMINS,
    "web.statistics_csv": _ORG_ADMINS,
    "web.statistics_signals_chart": _ORG_ADMINS,
    "web.statistics_matches_chart": _ORG_ADMINS,
    # Accounts (issue 16): invitation and e-mail links are public (the token is the secret).
    "web.invitation": PUBLIC,
    "web.accept_invitation": PUBLIC,
    "web.confirm_email": PUBLIC,
    "web.account": _PEOPLE,
    "web.change_password": _PEOPLE,
    "web.change_email": _PEOPLE,
    "web.change_phone": _PEOPLE,
    # The region admin's portal (web/region.py).
    "web.region_organisations": _REGION,
    "web.onboard_organisation": _REGION,
    "web.region_organisation": _REGION,
    "web.invite_wachter": _REGION,
    "web.reset_wachter": _REGION,
    "web.suspend_organisation": _REGION,
    "web.reactivate_organisation": _REGION,
    "web.offboard_organisation": _REGION,
    "web.coordinator_rules": _REGION,
    "web.save_coordinator_rules": _REGION,
    "web.signal_reviews": _ORG_ADMIN,
    "web.review_signal": _ORG_ADMIN,
    "web.dead_letters": _ORG_ADMIN,
    "web.retry_dead_letter": _ORG_ADMIN,
    "web.anomalies_page": frozenset({REGION_ADMIN}),
}


# Which credential scope a system needs per blueprint (resource group).
SCOPES: dict[str, str] = {"signals": "signals", "matches": "signals", "inbox": "signals", "bulk": "bulkLoads"}


# Endpoints that take big uploads (SLUIS_MAX_BULK_BYTES instead of SLUIS_MAX_BODY_BYTES);
# they are idempotent by content, so they do not store Idempotency-Key responses.
LARGE_BODIES: frozenset[str] = frozenset({"bulk.create"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    role: str
    credential_id: uuid.UUID
    region: str
    organisation_id: uuid.UUID | None = None
    professional_id: uuid.UUID | None = None
    admin_id: uuid.UUID | None = None
    # A system credential acting for one of its organisation's professionals.
    via_system: bool = False
    # What a system credential may be used for (see SCOPES); people are not scoped.
    scopes: tuple[str, ...] = ()
    # Logged in to the portal (a session), not calling with an API key.
    portal: bool = False

    @property
    def is_system(self) -> bool:
        return self.via_system or self.role == ORGANISATION_SYSTEM

    @property
    def actor_id(self) -> str:
        """The id recorded as author of admin changes."""
        return str(self.admin_id or self.professional_id or self.credential_id)


def unauthenticated(
    detail: str = "Geef een geldige API-sleutel mee: 'Authorization: Bearer <sleutel>'.",
) -> Unauthenticated:
    return Unauthenticated("unauthenticated", detail)


def authenticate(
    store: GatewayStore, region: str, authorization: str | None, acting_for: str | None
) -> Principal:
    """The principal behind the Authorization header (and X-Professional-Id for systems)."""
    key = domain.parse_bearer(authorization)
    if key is None:
        raise unauthenticated()
    # One cached query (services/gateway/authcache.py: at most 5 s old, invalidated on change).
    found = store.credential_context(domain.hash_api_key(key))
    if found is None or found.credential.region != region:
        raise Unauthenticated("invalid_credentials", "De API-sleutel is onbekend, verlopen of ingetrokken.")
    cred = found.credential
    store.touch_credential(cred.id)  # at most once a minute, in the background
    if cred.kind == "professional":
        if acting_for is not None:
            raise PermissionDenied(
                "acting_not_allowed", "Alleen een systeemkoppeling mag namens een professional handelen."
            )
        pro = found.professional
        if pro is None or not pro.active:
            raise PermissionDenied("professional_inactive", "Deze professional is niet (meer) actief.")
        return Principal(PROFESSIONAL, cred.id, region, pro.organisation_id, pro.id)
    if cred.kind == "system":
        scopes = tuple(cred.scopes)
        if acting_for is None:
            return Principal(ORGANISATION_SYSTEM, cred.id, region, cred.organisation_id, scopes=scopes)
        if not domain.is_uuid(acting_for):
            raise PermissionDenied(
                "acting_for_unknown", "X-Professional-Id is geen professional van deze organisatie."
            )
        context = store.professional_context(acting_for)
        acting = context[0] if context else None
        if acting is None or acting.organisation_id != cred.organisation_id or not acting.active:
            raise PermissionDenied(
                "acting_for_unknown", "X-Professional-Id is geen professional van deze organisatie."
            )
        return Principal(
            PROFESSIONAL, cred.id, region, acting.organisation_id, acting.id, via_system=True, scopes=scopes
        )
    if acting_for is not None:
        raise PermissionDenied(
            "acting_not_allowed", "Alleen een systeemkoppeling mag namens een professional handelen."
        )
    role = cred.admin_role or ""
    if role not in (ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR):
        raise Unauthenticated("invalid_credentials", "De API-sleutel is onbekend, verlopen of ingetrokken.")
    return Principal(role, cred.id, region, cred.organisation_id, None, cred.admin_id)


def authorise(endpoint: str | None, principal: Principal | None) -> None:
    """THE check: is this role allowed on this endpoint? Unknown endpoints are refused."""
    if endpoint is None:
        return  # routing already failed: 404/405 follow
    allowed = MATRIX.get(endpoint)
    if allowed is None:
        raise PermissionDenied("not_in_matrix", "Deze handeling is niet toegestaan.")
    if not allowed:  # PUBLIC
        return
    if principal is None:
        raise unauthenticated()
    if principal.role not in allowed:
        if principal.role == ORGANISATION_SYSTEM and PROFESSIONAL in allowed:
            # The usual mistake of a case system: say what is missing (issue 17).
            raise PermissionDenied(
                "role_not_allowed",
                "Een systeemkoppeling doet dit namens een professional: geef de header"
                " X-Professional-Id mee met het id van de professional van uw organisatie.",
                missing_header=ACTING_FOR_HEADER,
            )
        raise PermissionDenied("role_not_allowed", "Uw rol mag deze handeling niet uitvoeren.")
    if principal.is_system:
        needed = SCOPES.get(endpoint.split(".", 1)[0])
        if needed is None or needed not in principal.scopes:
            raise PermissionDenied("scope_missing", "Deze API-sleutel heeft geen toegang tot deze handeling.")


def is_public(endpoint: str | None) -> bool:
    return endpoint is None or MATRIX.get(endpoint) == PUBLIC


# -- resource scope ---------------------------------------------------------------------------

_NO_ORGANISATION = "Organisatie niet gevonden."


def organisation_in_scope(store: GatewayStore, principal: Principal, organisation_id: str) -> Organisation:
    """The organisation if the caller may manage it: an org admin only their own, a region
    admin and operator any in their region. Anything else looks exactly like unknown."""
    if not domain.is_uuid(organisation_id):
        raise NotFound("organisation_not_found", _NO_ORGANISATION)
    org = store.organisation(organisation_id)
    if org is None or org.region != principal.region:
        raise NotFound("organisation_not_found", _NO_ORGANISATION)
    if principal.role == ORGANISATION_ADMIN and org.id != principal.organisation_id:
        raise NotFound("organisation_not_found", _NO_ORGANISATION)
    if principal.role not in (ORGANISATION_ADMIN, REGION_ADMIN, OPERATOR):
        raise NotFound("organisation_not_found", _NO_ORGANISATION)
    return org


def professional_in_scope(
    store: GatewayStore, principal: Principal, organisation: Organisation, professional_id: str
) -> Professional:
    if not domain.is_uuid(professional_id):
        raise NotFound("professional_not_found", "Professional niet gevonden.")
    pro = store.professional(professional_id)
    if pro is None or pro.organisation_id != organisation.id:
        raise NotFound("professional_not_found", "Professional niet gevonden.")
    return pro
