"""Joining a list: ``POST /subscribe/<list>`` (form-encoded from any site, or JSON), the
hosted form at ``GET /subscribe/<list>``, and ``/confirm/<token>`` (a GET shows a button,
only the POST confirms: link scanners fetch GET links)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request
from sqlalchemy import select

from ..errors import StoreError
from ..signing import ConfirmRefused
from ..signup import Answer, Request, form_html
from ..store.consent import ConfirmOutcome
from ..store.consent import list_name as name_of_list
from ..store.models import Subscriber
from .site import site

bp = Blueprint("subscribe", __name__)

#: the form posts from the editor's blog, another origin: it may read the answer
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
    "Access-Control-Max-Age": "86400",
}
#: a subscribe form is a few hundred bytes; anything much bigger is not one
MAX_BODY = 16 * 1024


def N_(message: str) -> str:
    """A message for the catalogue, translated where it is shown."""
    return message


HEADINGS = {
    Answer.CHECK_INBOX: N_("Check your inbox"),
    Answer.JOINED: N_("Thank you"),
    Answer.BAD_INPUT: N_("Please check the form"),
    Answer.UNKNOWN_LIST: N_("No such list"),
    Answer.TOO_MANY: N_("Too many attempts"),
    Answer.NOT_SENT: N_("Please try again later"),
}


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > (request.accept_mimetypes["text/html"])
    )


@bp.get("/subscribe/<list_name>")
def hosted(list_name: str) -> Response:
    s = site()
    try:
        with s.store.begin() as conn:
            s.store.list_id(conn, list_name)
    except StoreError:
        _ = s.gettext()
        return s.message(
            _("No such list"), _("There is no list called “%(name)s”.") % {"name": list_name}, 404
        )
    return Response(form_html(s.config, list_name, hosted=True), mimetype="text/html")


@bp.route("/subscribe/<list_name>", methods=["OPTIONS"])
def preflight(list_name: str) -> Response:
    return Response("", 204, headers=CORS)


@bp.post("/subscribe/<list_name>")
def subscribe(list_name: str) -> Response:
    s = site()
    as_json = _wants_json()
    language = s.list_language(list_name)
    _ = s.gettext(language)
    if (request.content_length or 0) > MAX_BODY:
        page = s.message(
            _("Please check the form"),
            _("The form sent far more than it holds."),
            413,
            language=language,
        )
        page.headers.update(CORS)
        return page
    if request.is_json:
        body = request.get_json(silent=True)
        data = (
            {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | bool)}
            if isinstance(body, dict)
            else {}
        )
    else:
        data = {k: request.form.get(k, "") for k in request.form}
    result = s.signups.subscribe(
        list_name,
        data,
        Request(
            ip=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent", "")[:500],
            referrer=request.headers.get("Referer", ""),
        ),
    )
    status = result.answer.status
    if as_json:
        payload = {"ok": status < 400, "message": result.message, "field": result.field or None}
        return Response(json.dumps(payload), status, headers=CORS, mimetype="application/json")
    back = data.get("page", "") or request.headers.get("Referer", "")
    if not back.startswith(("http://", "https://")) or status < 400:
        back = ""
    page = s.message(
        _(HEADINGS[result.answer]), result.message, status, back=back, language=language
    )
    page.headers.update(CORS)
    return page


def _email(subscriber_id: int) -> str:
    with site().store.begin() as conn:
        return conn.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id)) or ""


def _language(token: str) -> str:
    """The confirmation page's language: the list's (the form's and the email's)."""
    s = site()
    try:
        found = s.signups.verify(token)
    except ConfirmRefused:
        return s.config.brand.language
    name = name_of_list(s.store, found.list_id)
    return s.list_language(name) if name else s.config.brand.language


@bp.get("/confirm/<token>")
def ask(token: str) -> Response:
    s = site()
    language = _language(token)
    try:
        found = s.signups.verify(token)
    except ConfirmRefused as exc:
        return s.page(
            "confirm.html", 410 if exc.expired else 400, language=language, state=str(exc)
        )
    email = _email(found.subscriber_id)
    if not email:
        return s.page("confirm.html", 400, language=language, state="invalid")
    return s.page("confirm.html", language=language, state="ask", email=email)


@bp.post("/confirm/<token>")
def confirm(token: str) -> Response:
    s = site()
    language = _language(token)
    try:
        outcome = s.signups.confirm(token)
    except ConfirmRefused as exc:
        return s.page(
            "confirm.html", 410 if exc.expired else 400, language=language, state=str(exc)
        )
    if outcome is ConfirmOutcome.GONE:
        return s.page("confirm.html", 400, language=language, state="invalid")
    found = s.signups.verify(token)
    return s.page(
        "confirm.html",
        language=language,
        state=outcome.value,
        email=_email(found.subscriber_id),
    )
