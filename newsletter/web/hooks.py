"""The providers' webhooks: ``POST /webhooks/<provider>``. Verification and the event
table live in :mod:`newsletter.webhooks`; this blueprint only reads the request (at most
:data:`~newsletter.webhooks.base.MAX_BODY_BYTES`) and answers."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import secrets, webhooks
from ..config import Notify
from ..store import Store
from ..webhooks.base import MAX_BODY_BYTES


def webhooks_blueprint(
    store: Store,
    hooks: dict[str, webhooks.WebhookProvider] | None = None,
    limits: Notify | None = None,
) -> Blueprint:
    bp = Blueprint("webhooks", __name__)
    secrets.register_env(*secrets.WEBHOOK_ENV)  # scrubbed from the start, not from first use
    providers = hooks if hooks is not None else webhooks.webhook_providers()

    @bp.post("/webhooks/<name>")
    def receive(name: str) -> Response:
        hook = providers.get(name)
        if hook is None:
            return text(f"no webhook for {name!r}\n", 404)
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return text("the body is too large\n", 400)
        body = request.stream.read(MAX_BODY_BYTES + 1)
        inbound = webhooks.Inbound.of(body, dict(request.headers.items()))
        try:
            outcome = webhooks.receive(store, hook, inbound, limits)
        except webhooks.WebhookRejected as exc:
            headers = {"WWW-Authenticate": 'Basic realm="webhooks"'} if exc.status == 401 else {}
            return text(f"{exc}\n", exc.status, headers)
        note = f" ({outcome.note})" if outcome.note else ""
        return text(f"ok: {outcome.suppressed} suppressed{note}\n", 200)

    return bp


def text(body: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers or {}, mimetype="text/plain")
