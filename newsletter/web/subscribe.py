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
HEADINGS = {
    Answer.CHECK_INBOX: "Check your inbox",
    Answer.JOINED: "Thank you",
    Answer.BAD_INPUT: "Please check the form",
    Answer.UNKNOWN_LIST: "No such list",
    Answer.TOO_MANY: "Too many attempts",
    Answer.NOT_SENT: "Please try again later",
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
        return s.message("No such list", f"There is no list called “{list_name}”.", 404)
    return Response(form_html(s.config, list_name, hosted=True), mimetype="text/html")


@bp.route("/subscribe/<list_name>", methods=["OPTIONS"])
def preflight(list_name: str) -> Response:
    return Response("", 204, headers=CORS)


@bp.post("/subscribe/<list_name>")
def subscribe(list_name: str) -> Response:
    s = site()
    as_json = _wants_json()
    if (request.content_length or 0) > MAX_BODY:
        page = s.message("Please check the form", "The form sent far more than it holds.", 413)
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
    page = s.message(HEADINGS[result.answer], result.message, status, back=back)
    page.headers.update(CORS)
    return page


def _email(subscriber_id: int) -> str:
    with site().store.begin() as conn:
        return conn.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id)) or ""


@bp.get("/confirm/<token>")
def ask(token: str) -> Response:
    s = site()
    try:
        found = s.signups.verify(token)
    except ConfirmRefused as exc:
        return s.page("confirm.html", 410 if exc.expired else 400, state=str(exc))
    email = _email(found.subscriber_id)
    if not email:
        return s.page("confirm.html", 400, state="invalid")
    return s.page("confirm.html", state="ask", email=email)


@bp.post("/confirm/<token>")
def confirm(token: str) -> Response:
    s = site()
    try:
        outcome = s.signups.confirm(token)
    except ConfirmRefused as exc:
        return s.page("confirm.html", 410 if exc.expired else 400, state=str(exc))
    if outcome is ConfirmOutcome.GONE:
        return s.page("confirm.html", 400, state="invalid")
    found = s.signups.verify(token)
    return s.page("confirm.html", state=outcome.value, email=_email(found.subscriber_id))
