"""The public archive at ``/archive/``: series, their parts already sent, and the feed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from ..archive import Archive
from .site import site

bp = Blueprint("archive", __name__)
ARCHIVE = "newsletter.archive"


def _archive() -> Archive:
    """One per process: its templates are compiled once, not on every request."""
    found: Archive | None = current_app.extensions.get(ARCHIVE)
    if found is None:
        found = current_app.extensions[ARCHIVE] = Archive(site().store, site().config)
    return found


def _html(text: str | None) -> Response:
    if text is None:
        abort(404)
    return Response(text, mimetype="text/html")


@bp.get("/archive/")
def index() -> Response:
    return _html(_archive().index())


@bp.get("/archive/feed.xml")
def feed() -> Response:
    return Response(_archive().feed(), mimetype="application/atom+xml")


@bp.get("/archive/<slug>/")
def series(slug: str) -> Response:
    return _html(_archive().series(slug))


@bp.get("/archive/<slug>/<int:index>/")
def part(slug: str, index: int) -> Response:
    return _html(_archive().part(slug, index))
