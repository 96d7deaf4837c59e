"""Portal pages of a region admin (issue 16), Dutch: organisations (onboard, suspend,
reactivate, offboard), their SluiS-wachters and invitations, and the coordinator-rule editor
(preview, versions). The same use cases as the REST API (usecases/admin.py, accounts.py).

The region menu has named slots for pages other areas add (REGION_NAV_SLOTS): a page that
registers one of these endpoint names appears in the menu by itself.
"""

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Page

from services.common.errors import DomainError, InvalidArgument
from services.gateway import domain
from services.gateway.store import Organisation
from services.gateway.usecases import accounts, admin, gateway
from services.gateway.web.blueprint import DOMAIN_LABELS, bp

# (endpoint, menu label): statistics, rights-requests register and the anomaly report
# (Signaleringen) are built by other areas under exactly these endpoint names.
REGION_NAV_SLOTS = (
    ("web.statistics", "Statistieken van de regio"),
    ("web.rights_requests", "Rechtenverzoeken"),
    ("web.anomalies_page", "Signaleringen"),
)

STATUS_LABELS = {"active": "actief", "suspended": "geschorst", "offboarded": "uitgeschreven"}


@bp.app_context_processor
def region_globals() -> dict[str, Any]:
    return {
        "region_slots": REGION_NAV_SLOTS,
        "has_endpoint": lambda name: name in current_app.view_functions,
        "domain_labels": DOMAIN_LABELS,
        "status_labels": STATUS_LABELS,
    }


def _field_errors(err: DomainError) -> dict[str, str]:
    return {err.metadata.get("field", "") or "_form": err.detail}


# -- organisations ---------------------------------------------------------------------------


def _organisations_page(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    store = gateway().store
    orgs = admin.organisations()
    wachters = {o.id: len(store.admins(o.region, o.id)) for o in orgs}
    return render_template(
        "region_organisations.html", organisations=orgs, wachters=wachters, values=values, errors=errors
    ), status


@bp.get("/regio/organisaties")
def region_organisations() -> tuple[str, int]:
    return _organisations_page({}, {})


@bp.post("/regio/organisaties")
def onboard_organisation() -> Page | tuple[str, int]:
    form = request.form
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "legalBasis": form.get("legalBasis", ""),
        "legalGround": form.get("legalGround", "").strip(),
        "domains": [d for d in domain.DOMAINS if form.get(f"domain-{d}") == "ja"],
        "mayCoordinate": form.get("mayCoordinate") == "ja",
    }
    if form.get("covenantDate"):
        body["covenantDate"] = form.get("covenantDate", "")
    try:
        org = admin.create_organisation(domain.parse_organisation(body, partial=False))
    except DomainError as err:
        return _organisations_page(body, _field_errors(err), 400)
    flash(f"{org.name} is aangesloten. Nodig nu een SluiS-wachter uit.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


def _organisation_page(org: Organisation, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    store = gateway().store
    wachters = store.admins(org.region, org.id)
    professionals = store.professionals(org.id)
    others = [
        (o, [p for p in store.professionals(o.id) if p.active])
        for o in admin.organisations()
        if o.id != org.id and o.status == "active"
    ]
    return render_template(
        "region_organisation.html",
        org=org,
        wachters=wachters,
        wachter_invitations=store.invitations_of("admin", [a.id for a in wachters]),
        professionals=professionals,
        professional_invitations=store.invitations_of("professional", [p.id for p in professionals]),
        others=[(o, ps) for o, ps in others if ps],
        now=gateway().clock.now(),
        errors=errors,
    ), status


@bp.get("/regio/organisaties/<organisation_id>")
def region_organisation(organisation_id: str) -> tuple[str, int]:
    return _organisation_page(admin.organisation(organisation_id), {})


@bp.post("/regio/organisaties/<organisation_id>/wachters")
def invite_wachter(organisation_id: str) -> Page | tuple[str, int]:
    org = admin.organisation(organisation_id)
    body = {"name": request.form.get("name", "").strip(), "email": request.form.get("email", "").strip()}
    try:
        fields = domain.parse_professional(body, partial=False)
        wachter, _ = accounts.invite_organisation_admin(org, fields["name"], fields["email"])
    except DomainError as err:
        return _organisation_page(org, _field_errors(err), 400)
    flash(f"{wachter.name} is uitgenodigd als SluiS-wachter: de uitnodiging is gemaild naar {wachter.email}.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


@bp.post("/regio/organisaties/<organisation_id>/wachters/<admin_id>/opnieuw")
def reset_wachter(organisation_id: str, admin_id: str) -> Page:
    org = admin.organisation(organisation_id)
    wachter = accounts.organisation_admin(org, admin_id)
    accounts.reset_admin(org, wachter)
    flash(f"De inlog van {wachter.name} is ingetrokken; een nieuwe link is gemaild.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


@bp.post("/regio/organisaties/<organisation_id>/schorsen")
def suspend_organisation(organisation_id: str) -> Page:
    org = admin.suspend_organisation(organisation_id)
    flash(f"{org.name} is geschorst: er kunnen geen nieuwe signalen bij; bestaande blijven zichtbaar.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


@bp.post("/regio/organisaties/<organisation_id>/heractiveren")
def reactivate_organisation(organisation_id: str) -> Page:
    org = admin.reactivate_organisation(organisation_id)
    flash(f"{org.name} is weer actief.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


@bp.post("/regio/organisaties/<organisation_id>/uitschrijven")
def offboard_organisation(organisation_id: str) -> Page | tuple[str, int]:
    org = admin.organisation(organisation_id)
    if request.form.get("confirm") != "ja":
        return _organisation_page(org, {"confirm": "Vink aan dat u de organisatie wilt uitschrijven."}, 400)
    target = request.form.get("transferTo", "") or None
    try:
        org, transferred, ended = admin.offboard_organisation(organisation_id, target)
    except InvalidArgument as err:
        return _organisation_page(org, {"transferTo": err.detail}, 400)
    flash(f"{org.name} is uitgeschreven: {transferred} signaal/signalen overgedragen, {ended} beëindigd.")
    return redirect(url_for("web.region_organisation", organisation_id=org.id))


# -- coordinator rules -----------------------------------------------------------------------


def _ordered(prefix: str, choices: list[str]) -> tuple[list[str], dict[str, str]]:
    """The choices with a position filled in, by position (empty: not in the list)."""
    picked: list[tuple[int, int, str]] = []
    values: dict[str, str] = {}
    for i, choice in enumerate(choices):
        raw = request.form.get(f"{prefix}-{choice}", "").strip()
        values[choice] = raw
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 999:
                raise InvalidArgument(
                    "invalid_position", "Een positie is een getal vanaf 1.", field=f"{prefix}-{choice}"
                )
            picked.append((int(raw), i, choice))
    return [c for _, _, c in sorted(picked)], values


def _rules_page(
    positions: dict[str, str] | None, errors: dict[str, str], preview: Any = None, status: int = 200
) -> tuple[str, int]:
    orgs = admin.organisations()
    current = admin.coordinator_rules()
    if positions is None:
        positions = {o: str(i + 1) for i, o in enumerate(current.organisation_priority)}
        positions |= {f"d:{d}": str(i + 1) for i, d in enumerate(current.domain_priority)}
    names = {str(o.id): o.name for o in orgs}
    return render_template(
        "region_rules.html",
        organisations=orgs,
        current=current,
        versions=admin.coordinator_rule_versions(),
        positions=positions,
        names=names,
        errors=errors,
        preview=preview,
        domains=domain.DOMAINS,
    ), status


@bp.get("/regio/matchregie")
def coordinator_rules() -> tuple[str, int]:
    return _rules_page(None, {})


@bp.post("/regio/matchregie")
def save_coordinator_rules() -> Page | tuple[str, int]:
    org_ids = [str(o.id) for o in admin.organisations()]
    positions: dict[str, str] = {}
    try:
        orgs, org_values = _ordered("org", org_ids)
        domains, domain_values = _ordered("domein", list(domain.DOMAINS))
        positions = org_values | {f"d:{d}": v for d, v in domain_values.items()}
        if request.form.get("action") == "preview":
            return _rules_page(positions, {}, admin.preview_coordinator_rules(orgs, domains))
        rules = admin.set_coordinator_rules(orgs, domains)
    except InvalidArgument as err:
        return _rules_page(positions or None, {"_form": err.detail}, status=400)
    flash(f"De regels voor matchregie zijn opgeslagen als versie {rules.version}.")
    return redirect(url_for("web.coordinator_rules"))
