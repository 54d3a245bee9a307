"""The public archive at ``/archive/``: series, their parts already sent, and the feed.

Public and the same for everyone: each answer carries an ``ETag`` (a hash of its body) and
may be kept by browsers and caches for :data:`MAX_AGE` seconds; asked again with the tag
(``If-None-Match``), an unchanged page is a 304 without a body.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from ..archive import Archive
from .site import site

bp = Blueprint("archive", __name__)
ARCHIVE = "newsletter.archive"
#: how long a browser or a cache may show a page before asking again (a new part appears
#: at most this late)
MAX_AGE = 60


def _archive() -> Archive:
    """One per process: its templates are compiled once, not on every request."""
    found: Archive | None = current_app.extensions.get(ARCHIVE)
    if found is None:
        found = current_app.extensions[ARCHIVE] = Archive(site().store, site().config)
    return found


def _public(text: str | None, mimetype: str = "text/html") -> Response:
    """The page, cacheable, with its ETag; a 304 when the client holds it already."""
    if text is None:
        abort(404)
    response = Response(text, mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.add_etag()
    response.make_conditional(request)  # (in place: a 304 without its body when it matches)
    return response


@bp.get("/archive/")
def index() -> Response:
    return _public(_archive().index())


@bp.get("/archive/feed.xml")
def feed() -> Response:
    return _public(_archive().feed(), "application/atom+xml")


@bp.get("/archive/<slug>/")
def series(slug: str) -> Response:
    return _public(_archive().series(slug))


@bp.get("/archive/<slug>/<int:index>/")
def part(slug: str, index: int) -> Response:
    return _public(_archive().part(slug, index))
