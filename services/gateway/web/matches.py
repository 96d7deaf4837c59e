"""Portal pages of a professional's matches and coordinator actions (usecases/matches.py)."""

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Page

from services.gateway import convert, domain
from services.gateway.usecases import matches
from services.gateway.web.blueprint import PAGE_SIZE, bp, who


@bp.get("/matches", endpoint="matches")
def matches_page() -> str:
    found, _ = matches.page(1, PAGE_SIZE, "portal")
    own = matches.own_signals(found)
    return render_template(
        "matches.html", matches=[convert.match_json(m, own.get(m.match_id)) for m in found]
    )


@bp.get("/matches/<match_id>")
def match(match_id: str) -> str:
    found = matches.get(match_id, "portal")
    return render_template(
        "match.html",
        match=convert.match_json(found, matches.own_signal(found)),
        me=str(who().professional_id),
    )


@bp.post("/matches/<match_id>/regie")
def take_coordinator(match_id: str) -> Page:
    found = matches.take_coordinator(match_id)
    if found.coordinator_professional_id == str(who().professional_id):
        flash("U bent nu matchregisseur.")
    else:
        flash("Uw verzoek is naar de matchregisseur gestuurd; die moet de overname nog toestaan.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/overdragen")
def hand_over(match_id: str) -> Page:
    to = request.form.get("professionalId", "")
    if not domain.is_uuid(to):
        flash("Kies aan wie u de regie overdraagt.")
        return redirect(url_for("web.match", match_id=match_id))
    matches.hand_over(match_id, to)
    flash("De regie is aangeboden; de ander moet die nog accepteren.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/accepteren")
def accept(match_id: str) -> Page:
    matches.accept_coordinator(match_id)
    flash("U heeft de regie geaccepteerd.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/weigeren")
def decline(match_id: str) -> Page:
    matches.decline_coordinator(match_id)
    flash("U heeft de regie geweigerd.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/overname-toestaan")
def takeover_accept(match_id: str) -> Page:
    matches.respond_takeover(match_id, accept=True)
    flash("De regie is overgedragen.")
    return redirect(url_for("web.match", match_id=match_id))


@bp.post("/matches/<match_id>/regie/overname-weigeren")
def takeover_decline(match_id: str) -> Page:
    matches.respond_takeover(match_id, accept=False)
    flash("U heeft de overname geweigerd; u blijft matchregisseur.")
    return redirect(url_for("web.match", match_id=match_id))
