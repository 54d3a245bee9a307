"""``newsletter serve``: the web app readers meet. Subscribe form and confirmation,
preferences, one-click unsubscribe (RFC 8058), the public archive, and the providers'
webhooks. One blueprint per page family; bind it to 127.0.0.1 and put it behind your web
server's TLS."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import webhooks
from ..config import Config
from ..store import Store
from . import archive, preferences, security, subscribe, unsubscribe
from .hooks import webhooks_blueprint
from .site import KEY, Site, site

#: a form body larger than this is left to its page (which refuses it) unread
_FORM_CHECKED = 64 * 1024


def create_app(
    store: Store,
    config: Config | str,
    hooks: dict[str, webhooks.WebhookProvider] | None = None,
) -> Flask:
    """The app for ``store``; ``config`` may be just the sender's name (tests, old callers).
    ``hooks`` replaces the providers' webhooks (tests: a local SNS certificate server)."""
    if isinstance(config, str):
        named = Config()
        named.sender.name = config
        config = named
    app = Flask(__name__)
    if config.web.trusted_proxies > 0:
        n = config.web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.extensions[KEY] = Site.create(store, config)
    app.register_blueprint(webhooks_blueprint(store, hooks, config.notify))
    for module in (unsubscribe, subscribe, preferences, archive):
        app.register_blueprint(module.bp)
    from ..desk import register as register_desk

    register_desk(app, store, config)  # /desk/: the editor's desk, behind its password
    security.install(app, base_url=config.web.base_url)

    @app.before_request
    def storable() -> Response | None:
        """A NUL (or, from JSON, an unpaired surrogate) in the address or a form field is a
        400 that names the field, on every page: no database is asked to store it."""
        why = security.bad_field(request.view_args or {}) or security.bad_field(
            request.args.items(multi=True)
        )
        if (
            not why
            and request.method == "POST"
            and not request.path.startswith(("/webhooks/", "/subscribe/"))  # they answer it
            and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
            and (request.content_length or 0) <= _FORM_CHECKED
        ):
            why = security.bad_field(request.form.items(multi=True))
        if not why:
            return None
        if request.path.startswith("/webhooks/"):
            return Response(why + "\n", 400, mimetype="text/plain")
        _ = site().gettext()
        return site().message(_("Please check the form"), why, 400)

    @app.get("/healthz")
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    return app
