"""``newsletter serve``: the web app readers meet. Subscribe form and confirmation,
preferences, one-click unsubscribe (RFC 8058), the public archive, and the providers'
webhooks. One blueprint per page family; bind it to 127.0.0.1 and put it behind your web
server's TLS."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from .. import webhooks
from ..config import Config
from ..store import Store
from . import archive, preferences, subscribe, unsubscribe
from .site import KEY, Site


def create_app(store: Store, config: Config | str) -> Flask:
    """The app for ``store``; ``config`` may be just the sender's name (tests, old callers)."""
    if isinstance(config, str):
        named = Config()
        named.sender.name = config
        config = named
    app = Flask(__name__)
    app.extensions[KEY] = Site.create(store, config)
    for module in (unsubscribe, subscribe, preferences, archive):
        app.register_blueprint(module.bp)

    def webhook(provider: str, handle: Any) -> Response:
        try:
            events = handle()
        except webhooks.WebhookRejected as exc:
            headers = {"WWW-Authenticate": 'Basic realm="webhooks"'} if exc.status == 401 else {}
            return Response(f"{exc}\n", exc.status, headers=headers, mimetype="text/plain")
        n = webhooks.apply(store, provider, events)
        return Response(f"ok: {n} suppressed\n", 200, mimetype="text/plain")

    @app.post("/webhooks/postmark")
    def postmark() -> Response:
        def handle() -> list[webhooks.Suppress]:
            webhooks.verify_postmark(request.headers.get("Authorization"))
            return webhooks.postmark_events(webhooks.parse_json(request.get_data()))

        return webhook("postmark", handle)

    @app.post("/webhooks/sendgrid")
    def sendgrid() -> Response:
        def handle() -> list[webhooks.Suppress]:
            raw = request.get_data()
            webhooks.verify_sendgrid(
                raw,
                request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
                request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
            )
            events = webhooks.parse_json(raw)
            return webhooks.sendgrid_events(events if isinstance(events, list) else [])

        return webhook("sendgrid", handle)

    @app.post("/webhooks/mailgun")
    def mailgun() -> Response:
        def handle() -> list[webhooks.Suppress]:
            body = webhooks.parse_json(request.get_data())
            webhooks.verify_mailgun(body)
            return webhooks.mailgun_events(body)

        return webhook("mailgun", handle)

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    return app
