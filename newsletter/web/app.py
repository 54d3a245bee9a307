"""``newsletter serve``: one-click unsubscribe (RFC 8058), the unsubscribe page, and the
providers' webhooks. A small Flask app; bind it to 127.0.0.1 and put it behind your web
server's TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template, request
from sqlalchemy import select

from .. import webhooks
from ..signing import Signer
from ..store import Store, ledger
from ..store.models import Campaign, Subscriber
from ..store.subscribers import unsubscribe
from .hooks import webhooks_blueprint


def create_app(
    store: Store, sender_name: str, hooks: dict[str, webhooks.WebhookProvider] | None = None
) -> Flask:
    """The app; ``hooks`` replaces the providers' webhooks (tests: a local SNS certificate
    server)."""
    app = Flask(__name__, template_folder=str(Path(__file__).parent))
    app.register_blueprint(webhooks_blueprint(store, hooks))
    signer = Signer.from_env(store.signing_secret())

    def page(state: str, status: int = 200, **context: Any) -> Response:
        return Response(
            render_template("unsubscribe.html", state=state, sender=sender_name, **context),
            status,
            mimetype="text/html",
        )

    def lookup(token: str) -> tuple[Any, Any] | None:
        found = signer.verify(token)
        if found is None:
            return None
        with store.begin() as conn:
            sub = conn.execute(
                select(Subscriber).where(Subscriber.id == found.subscriber_id)
            ).first()
            series = (
                conn.execute(
                    select(Campaign.id, Campaign.title).where(Campaign.id == found.campaign_id)
                ).first()
                if found.campaign_id
                else None
            )
        return (sub, series) if sub else None

    @app.get("/u/<token>")
    def confirm(token: str) -> Response:
        # Link scanners fetch GET links: a GET only asks, it never unsubscribes.
        found = lookup(token)
        if found is None:
            return page("invalid", 400)
        sub, series = found
        return page("confirm", token=token, series=series, email=sub.email)

    @app.post("/u/<token>")
    def act(token: str) -> Response:
        found = lookup(token)
        if found is None:
            return page("invalid", 400)
        sub, series = found
        one_click = request.form.get("List-Unsubscribe") == "One-Click"
        if request.form.get("scope") == "series" and series and not one_click:
            ledger.stop_series_for(store, series.id, sub.id)
            return page("series-stopped", series=series, email=sub.email)
        unsubscribe(store, sub.email)
        if one_click:
            return Response("Unsubscribed.\n", 200, mimetype="text/plain")
        return page("unsubscribed", email=sub.email)

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    return app
