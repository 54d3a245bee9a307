"""The preview web app (Flask): the series page, each part as sent, live reload by
server-sent events. Binds to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, Response, abort, render_template, request

from ..config import Config
from ..render import GMAIL_CLIP_BYTES, RenderedPart, first_name_fallback, personalize
from .state import PreviewState

SAMPLE_NAME = "Alex"
_DARK = re.compile(r"@media\s*\(prefers-color-scheme:\s*dark\)")


def sample_unsubscribe(config: Config) -> str:
    return f"{config.web.base_url.rstrip('/')}/u/preview-sample-token"


def create_app(state: PreviewState) -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent))
    app.config["PREVIEW_STATE"] = state

    def part_or_404(k: int) -> RenderedPart:
        snap = state.good
        if snap is None:
            abort(
                Response(
                    f"The issue cannot be rendered:\n{state.error}", 503, mimetype="text/plain"
                )
            )
        if not 1 <= k <= len(snap.parts):
            abort(404)
        return snap.parts[k - 1]

    def personal(k: int) -> tuple[str, str]:
        r = part_or_404(k)
        assert state.good is not None
        name = request.args.get("first_name", SAMPLE_NAME)
        return personalize(
            r,
            first_name=name,
            unsubscribe_url=sample_unsubscribe(state.good.config),
            fallback=first_name_fallback(state.good.config, state.good.series.language),
        )

    @app.get("/")
    def index() -> str:
        snap = state.good
        k = request.args.get("part", 1, type=int)
        if snap:
            k = min(max(k, 1), len(snap.parts))
        return render_template(
            "page.html",
            state=state,
            snap=snap,
            k=k,
            error=state.error,
            name=request.args.get("first_name", SAMPLE_NAME),
            dark=request.args.get("dark") == "1",
            clip=GMAIL_CLIP_BYTES,
            part=snap.parts[k - 1] if snap else None,
            findings=[f for f in snap.report.findings if f.part in (None, k)] if snap else [],
            counts={
                p.index: (
                    sum(1 for f in snap.report.errors if f.part == p.index),
                    sum(1 for f in snap.report.warnings if f.part == p.index),
                )
                for p in snap.parts
            }
            if snap
            else {},
        )

    @app.get("/parts/<int:k>.html")
    def part_html(k: int) -> Response:
        html, _ = personal(k)
        if request.args.get("dark") == "1":  # show what a dark-mode mail client shows
            html = _DARK.sub("@media all", html)
        return Response(html, mimetype="text/html")

    @app.get("/parts/<int:k>.txt")
    def part_text(k: int) -> Response:
        _, text = personal(k)
        return Response(text, mimetype="text/plain; charset=utf-8")

    @app.get("/parts/<int:k>.mjml")
    def part_mjml(k: int) -> Response:
        return Response(part_or_404(k).mjml, mimetype="text/plain; charset=utf-8")

    @app.get("/state.json")
    def state_json() -> Response:
        snap = state.good
        body = {
            "version": state.version,
            "error": state.error,
            "parts": [
                {
                    "index": r.index,
                    "subject": r.part.subject,
                    "preheader": r.part.preheader,
                    "size": r.size,
                }
                for r in snap.parts
            ]
            if snap
            else [],
            "check": snap.report.as_json() if snap else None,
        }
        return Response(json.dumps(body), mimetype="application/json")

    @app.get("/events")
    def events() -> Response:
        seen = request.args.get("version", state.version, type=int)

        def stream() -> Iterator[str]:
            nonlocal seen
            yield f"event: hello\ndata: {state.version}\n\n"
            if seen != state.version:
                yield f"event: reload\ndata: {state.version}\n\n"
                seen = state.version
            while True:
                version = state.wait_for_change(seen, timeout=15)
                if version == seen:
                    yield ": keep-alive\n\n"
                    continue
                seen = version
                yield f"event: reload\ndata: {version}\n\n"

        return Response(
            stream(),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app
