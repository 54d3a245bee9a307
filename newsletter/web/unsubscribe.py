"""The unsubscribe page and one-click unsubscribe (RFC 8058): a GET only asks, a POST acts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request
from sqlalchemy import select

from ..store import ledger
from ..store.models import Campaign, Subscriber
from ..store.states import SubscriberStatus
from ..store.subscribers import unsubscribe
from .site import site

bp = Blueprint("unsubscribe", __name__)


def language(token: str) -> str:
    """The page's language: the series' the link came from."""
    found = site().signer.verify(token)
    return site().series_language(found.campaign_id if found else None)


def lookup(token: str) -> tuple[Any, Any] | None:
    s = site()
    found = s.reader(token)
    if found is None:
        return None
    with s.store.begin() as conn:
        sub = conn.execute(select(Subscriber).where(Subscriber.id == found.subscriber_id)).first()
        series = (
            conn.execute(
                select(Campaign.id, Campaign.title).where(Campaign.id == found.campaign_id)
            ).first()
            if found.campaign_id
            else None
        )
    return (sub, series) if sub else None


@bp.get("/u/<token>")
def confirm(token: str) -> Any:
    # Link scanners fetch GET links: a GET only asks, it never unsubscribes.
    if "preferences" in request.args:  # the emails' "Your preferences" link
        return redirect(f"{site().base_url}/preferences/{token}", 303)
    found = lookup(token)
    if found is None:
        return site().page("unsubscribe.html", 400, state="invalid")
    sub, series = found
    return site().page(
        "unsubscribe.html",
        language=language(token),
        state="confirm",
        series=series,
        email=sub.email,
        preferences_url=f"{site().base_url}/preferences/{token}",
    )


@bp.post("/u/<token>")
def act(token: str) -> Response:
    s = site()
    found = lookup(token)
    if found is None:
        return s.page("unsubscribe.html", 400, state="invalid")
    sub, series = found
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    lang = language(token)
    if request.form.get("scope") == "series" and series and not one_click:
        ledger.stop_series_for(s.store, series.id, sub.id)
        return s.page(
            "unsubscribe.html",
            language=lang,
            state="series-stopped",
            series=series,
            email=sub.email,
        )
    unsubscribe(s.store, sub.email)
    if one_click:  # (for the mail program, not a reader)
        return Response("Unsubscribed.\n", 200, mimetype="text/plain")
    return s.page(
        "unsubscribe.html", language=lang, state=SubscriberStatus.UNSUBSCRIBED, email=sub.email
    )
