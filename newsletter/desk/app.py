"""The editor's desk: the whole job in a browser, from a pasted link to a chart of what
each part did.

A thin layer over the library functions the CLI calls (import, split, render, check,
queue, pause, resume, subscribers); the issue files in ``issues/`` stay the source of truth.
Server-rendered pages that work without JavaScript. ``create_desk`` is the app of
``newsletter desk``; :func:`register` mounts the same pages at ``/desk/`` in the reader-
facing WSGI app, behind the password of ``newsletter desk password``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from flask import Blueprint, Flask, Response, abort, current_app, redirect, request, url_for
from werkzeug.exceptions import HTTPException

from .. import templatecache
from ..config import SECRET_ENV, Config
from ..errors import NewsletterError
from ..resources import templates_dir
from ..store import Store
from . import auth
from .auth import Gate

KEY = "newsletter.desk"
PREFIX = "/desk"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: a part's preview: the email's own inline styles, remote images, no script, only in the desk
PREVIEW_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox"
)


class Desk:
    """What every desk page shares: the store, the configuration, the door, templates."""

    def __init__(self, store: Store, config: Config, gate: Gate) -> None:
        self.store = store
        self.config = config
        self.gate = gate
        self._lock = threading.Lock()
        self._renders: dict[tuple[str, int, int], tuple[Any, list[Any]]] = {}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir() / "desk")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=templatecache.COMPILED,
        )

    def rendered(self, path: Path) -> tuple[Any, list[Any]]:
        """The issue's series and rendered parts, rendered once per version of the file (the
        issue page and each part's preview frame read the same render)."""
        from ..pipeline import render_issue

        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._renders.get(key)
        if found is None:
            found = render_issue(path, self.config)
            with self._lock:
                self._renders = {k: v for k, v in self._renders.items() if k[0] != key[0]}
                self._renders[key] = found
        return found

    def forget_renders(self) -> None:
        with self._lock:
            self._renders.clear()

    @property
    def issues_dir(self) -> Path:
        return self.config.resolve(self.config.issues_dir)

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("notice", "")
        html = self.env.get_template(template).render(
            csrf=auth.csrf_token(),
            signed_in=auth.signed_in(),
            url=url_for,
            sender=self.config.sender,
            **context,
        )
        return Response(html, status, mimetype="text/html")


def desk() -> Desk:
    found: Desk = current_app.extensions[KEY]
    return found


def _session_key(store: Store) -> bytes:
    """The cookie's signing key, derived from the installation's secret (so that every
    worker of a WSGI server accepts the same session) and never the secret itself."""
    secret = os.environ.get(SECRET_ENV) or store.signing_secret()
    return hashlib.sha256(b"newsletter.desk.session\0" + secret.encode()).digest()


def _configure(app: Flask, store: Store, config: Config, gate: Gate) -> None:
    app.secret_key = _session_key(store)
    app.config.update(
        SESSION_COOKIE_NAME="newsletter_desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.web.base_url.startswith("https://")
        and gate.token_hash is None,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # Only a request that changes the session sets the cookie: a preview frame answered
        # late must not put back an older session (and lose a notice set meanwhile).
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
    )
    app.extensions[KEY] = Desk(store, config, gate)


def _guard() -> Any:
    """Before every desk request: sign-in first, then the CSRF token on every POST."""
    endpoint = request.endpoint or ""
    if endpoint.endswith(".static_css"):
        return None
    if endpoint.endswith((".login", ".login_post")):
        if request.method == "POST" and request.form.get("csrf") is not None:
            auth.require_csrf()
        return None
    if not auth.signed_in():
        if request.method == "GET" and request.accept_mimetypes.accept_html:
            return redirect(url_for("desk.login", next=request.path))
        abort(401)
    if request.method not in ("GET", "HEAD"):
        auth.require_csrf()
    return None


def _headers(response: Response) -> Response:
    if "Content-Security-Policy" not in response.headers:
        response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


def _error(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        message = exc.description or exc.name
        if code == 401:
            message = "Sign in first: open the link 'newsletter desk' printed."
        return desk().page("message.html", code, heading=exc.name, message=message)
    if isinstance(exc, NewsletterError):
        return desk().page("message.html", 400, heading="That did not work", message=str(exc))
    current_app.logger.exception("desk: unexpected %s", type(exc).__name__)
    return desk().page(
        "message.html",
        500,
        heading="Something went wrong",
        message="The desk could not finish this; nothing was changed. The terminal that "
        "runs 'newsletter desk' says more.",
    )


def blueprint() -> Blueprint:
    from . import views

    bp = Blueprint("desk", __name__, url_prefix=PREFIX)
    bp.before_request(_guard)
    bp.after_request(_headers)
    views.routes(bp)
    return bp


def create_desk(store: Store, config: Config) -> tuple[Flask, str]:
    """The desk's own app (``newsletter desk``) and its one-time sign-in token."""
    gate, token = Gate.with_token(store)
    app = Flask(__name__)
    _configure(app, store, config, gate)
    app.register_blueprint(blueprint())
    app.register_error_handler(Exception, _error)

    @app.get("/")
    def root() -> Any:
        return redirect(url_for("desk.home"))

    return app, token


def register(app: Flask, store: Store, config: Config) -> None:
    """Mount the desk at ``/desk/`` in the reader-facing app: only a password signs in, and
    without one set (``newsletter desk password``) the sign-in page says how to set it."""
    gate = Gate(store)
    _configure(app, store, config, gate)
    bp = blueprint()

    @bp.errorhandler(Exception)
    def on_error(exc: Exception) -> Response:
        return _error(exc)

    app.register_blueprint(bp)
