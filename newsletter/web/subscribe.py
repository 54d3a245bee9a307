"""Joining a list: ``POST /subscribe/<list>`` (form-encoded from any site, or JSON), the
hosted form at ``GET /subscribe/<list>``, and ``/confirm/<token>`` (a GET shows a button,
only the POST confirms: link scanners fetch GET links)."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, request

from ..errors import StoreError
from ..fetch import is_http_url
from ..signing import ConfirmRefused
from ..signup import Answer, Request, form_html
from ..store.consent import ConfirmOutcome
from ..store.consent import list_name as name_of_list
from ..store.preferences import email_of
from . import security
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
    security.allow_framing()  # a blog may show the hosted form in a frame
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
    security.allow_framing()  # the answer of a form a blog shows in a frame
    data, bad = _fields()
    if bad:
        return _answer(list_name, Answer.BAD_INPUT, bad, as_json, language)
    result = s.signups.subscribe(
        list_name,
        data,
        Request(
            ip=request.remote_addr or "",
            user_agent=_header("User-Agent")[:500],
            referrer=_header("Referer"),
        ),
    )
    return _answer(list_name, result.answer, result.message, as_json, language, data, result.field)


def _fields() -> tuple[dict[str, str], str | None]:
    """The form's fields (form-encoded or JSON), and why they cannot be taken, if so."""
    if not request.is_json:
        data = {k: request.form.get(k, "") for k in request.form}
        return data, security.bad_field(data)
    raw = request.get_data(cache=True)
    if security.json_depth(raw) > security.MAX_JSON_DEPTH:
        return {}, "The form sent JSON nested far too deeply."
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return {}, "The form sent something that is not JSON."
    data = (
        {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | bool)}
        if isinstance(body, dict)
        else {}
    )
    return data, security.bad_field(data)


def _header(name: str) -> str:
    """A request header as stored with the consent record (never a NUL)."""
    return request.headers.get(name, "").replace("\x00", "")


def _answer(
    list_name: str,
    answer: Answer,
    message: str,
    as_json: bool,
    language: str,
    data: dict[str, str] | None = None,
    field: str | None = None,
) -> Response:
    status = answer.status
    if as_json:
        payload = {"ok": status < 400, "message": message, "field": field or None}
        return Response(json.dumps(payload), status, headers=CORS, mimetype="application/json")
    s = site()
    _ = s.gettext(language)
    back = _back(list_name, (data or {}).get("page", "")) if status >= 400 else ""
    page = s.message(_(HEADINGS[answer]), message, status, back=back, language=language)
    page.headers.update(CORS)
    return page


def _back(list_name: str, page: str) -> str:
    """Where "Back" goes: the form's page when it is on this site (``[web] base_url``),
    else the page recorded for the list (``[lists.NAME] page``), else the hosted form;
    never an address the request names elsewhere (nor the Referer)."""
    s = site()
    mine = urlsplit(s.base_url)
    there = urlsplit(page) if is_http_url(page) else None
    if there and (there.scheme, there.netloc) == (mine.scheme, mine.netloc):
        return page
    recorded = s.config.lists[list_name].page if list_name in s.config.lists else ""
    return recorded or f"{s.base_url}/subscribe/{quote(list_name, safe='')}"


def _email(subscriber_id: int) -> str:
    return email_of(site().store, subscriber_id)


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
