"""The reader's preferences page at ``/preferences/<token>`` (the same signed token as the
unsubscribe link; a GET only shows, every change is a POST)."""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime
from functools import cache

from flask import Blueprint, Response, request

from .. import headers
from .. import preferences as prefs
from ..erasure import erase
from ..errors import InputError
from ..store import utcnow
from ..store.states import SubscriberStatus
from ..store.subscribers import unsubscribe
from ..timing import as_utc, zone
from .site import site

bp = Blueprint("preferences", __name__)


@cache
def zones() -> list[str]:
    return sorted(
        z
        for z in zoneinfo.available_timezones()
        if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )


def _language(token: str) -> str:
    found = site().signer.verify(token)
    return site().series_language(found.campaign_id if found else None)


def _page(token: str, status: int = 200, notice: str = "", error: str = "") -> Response:
    s = site()
    found = s.reader(token)
    p = prefs.profile(s.store, found.subscriber_id) if found else None
    if p is None:
        return s.page("unsubscribe.html", 400, state="invalid")
    language = _language(token)
    tz = zone(p.timezone or s.config.sending.timezone)

    def local(when: datetime) -> str:
        return f"{as_utc(when).astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})"

    return s.page(
        "preferences.html",
        status,
        language=language,
        p=p,
        local=local,
        zones=zones(),
        default_timezone=s.config.sending.timezone,
        notice=notice,
        error=error,
    )


@bp.get("/preferences/<token>")
def show(token: str) -> Response:
    return _page(token)


@bp.post("/preferences/<token>")
def change(token: str) -> Response:
    s = site()
    found = s.reader(token)
    p = prefs.profile(s.store, found.subscriber_id) if found else None
    if p is None:
        return s.page("unsubscribe.html", 400, state="invalid")
    action = request.form.get("action", "")
    now = utcnow()
    language = _language(token)
    _ = s.gettext(language)
    try:
        if action == "save":
            tz = request.form.get("timezone", "").strip() or None
            if tz and tz not in zones():
                raise InputError("time zone", f"unknown time zone {tz!r}")
            prefs.save(
                s.store,
                p.subscriber_id,
                prefs.Changes(
                    first_name=headers.clean(
                        " ".join(request.form.get("first_name", "").split()), headers.MAX_NAME
                    ),
                    timezone=tz,
                    lists=frozenset(_ints(request.form.getlist("list"))),
                    series=frozenset(_ints(request.form.getlist("series"))),
                ),
                now,
            )
            return _page(token, notice=_("Saved. The change holds from the next email on."))
        if action == "pause":
            days = prefs.parse_pause(request.form.get("pause", ""))
            prefs.pause(s.store, p.subscriber_id, days, now)
            return _page(token, notice=_("Paused: nothing for %(days)s days.") % {"days": days})
        if action == "unsubscribe":
            unsubscribe(s.store, p.email)
            return s.page(
                "unsubscribe.html",
                language=language,
                state=SubscriberStatus.UNSUBSCRIBED,
                email=p.email,
            )
        if action == "download":
            data = prefs.export(s.store, p.subscriber_id)
            return Response(
                json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                mimetype="application/json",
                headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
            )
        if action == "erase" and request.form.get("sure") == "yes":
            erase(s.store, s.config, p.email)
            return s.message(
                _("Erased"),
                _("Everything %(name)s kept about you is erased. You will get no more emails.")
                % {"name": s.config.sender.name},
                language=language,
            )
    except InputError as exc:
        return _page(token, 400, error=str(exc))
    return _page(token, 400, error=_("Choose one of the buttons below."))


def _ints(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]
