"""JSON request bodies for many personalised copies of one part, without encoding the part
once per recipient.

A provider whose batch API carries every message in full (Postmark) sends the same HTML
and text hundreds of times with a few fields changed. ``PartJson`` splits the part's HTML
and text at their placeholders once per batch and JSON-encodes the pieces; a recipient's
body is then the pieces joined with that recipient's encoded values. ``messages_json``
encodes the rest of each message (a small dict) with ``json.dumps`` and splices the bodies
in where it holds the slots. The bytes are exactly those of ``json.dumps(messages,
ensure_ascii=False).encode()``: JSON escapes a string character by character, so the
encoding of a concatenation is the concatenation of the encodings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..render import MARKER, MARKERS
from .base import Batch, Recipient

#: what a message holds in place of its HTML and text until they are spliced in (a value
#: no real field takes: control characters, which names and subjects cannot contain)
HTML_SLOT = "\x00newsletter-html\x00"
TEXT_SLOT = "\x00newsletter-text\x00"


def _encoded(value: str) -> bytes:
    """The JSON string literal of ``value`` without its quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1].encode()


class BodyJson:
    """One template (HTML or text) split at its placeholders, each piece JSON-encoded."""

    def __init__(self, template: str) -> None:
        pieces = MARKER.split(template)
        self.markers = MARKER.findall(template)
        self.pieces = [_encoded(p) for p in pieces]

    def fragments(self, values: Mapping[str, bytes]) -> list[bytes]:
        """The JSON string (with quotes) of the template with the encoded values put in, as
        fragments: the template's pieces are shared by every recipient, not copied."""
        out = [b'"', self.pieces[0]]
        for marker, piece in zip(self.markers, self.pieces[1:], strict=True):
            out.append(values[marker])
            out.append(piece)
        out.append(b'"')
        return out


class PartJson:
    """A batch's HTML and text, encoded once."""

    def __init__(self, batch: Batch) -> None:
        self.html = BodyJson(batch.html)
        self.text = BodyJson(batch.text)
        # The batch with a lone placeholder as its part: personalising it gives that
        # placeholder's value for a recipient, exactly as personalising the whole part
        # does (each placeholder is replaced in a single pass).
        self._probes = {m: replace(batch, html=m, text=m, recipients=[]) for m in MARKERS}

    def bodies(self, r: Recipient) -> dict[bytes, list[bytes]]:
        """The recipient's HTML and text as JSON string fragments, by the slot they fill."""
        html_values: dict[str, bytes] = {}
        text_values: dict[str, bytes] = {}
        for marker, probe in self._probes.items():
            html, text = probe.personalize(r)
            html_values[marker] = _encoded(html)
            text_values[marker] = _encoded(text)
        return {
            _HTML_JSON: self.html.fragments(html_values),
            _TEXT_JSON: self.text.fragments(text_values),
        }


_HTML_JSON = json.dumps(HTML_SLOT).encode()
_TEXT_JSON = json.dumps(TEXT_SLOT).encode()
_SLOT = re.compile(b"(" + re.escape(_HTML_JSON) + b"|" + re.escape(_TEXT_JSON) + b")")


def message_fragments(
    message: Mapping[str, Any], bodies: Mapping[bytes, list[bytes]]
) -> list[bytes]:
    """``json.dumps(message)`` with the HTML and text slots filled by the bodies' fragments
    (or, if a slot is not found exactly once, the message encoded whole)."""
    small = json.dumps(message, ensure_ascii=False).encode()
    split = _SLOT.split(small)  # text, slot, text, slot, text
    if len(split) == 5 and split[1] != split[3]:
        return [split[0], *bodies[split[1]], split[2], *bodies[split[3]], split[4]]
    filled = {slot: json.loads(b"".join(fragments)) for slot, fragments in bodies.items()}
    whole = {  # the slots the message was built with (the very objects), nothing equal
        k: filled[_HTML_JSON] if v is HTML_SLOT else filled[_TEXT_JSON] if v is TEXT_SLOT else v
        for k, v in message.items()
    }
    return [json.dumps(whole, ensure_ascii=False).encode()]


def json_array(items: Iterable[list[bytes]]) -> bytes:
    """A JSON array of encoded items, as ``json.dumps`` writes a list: one allocation for
    the whole body."""
    out = [b"["]
    for i, fragments in enumerate(items):
        if i:
            out.append(b", ")
        out.extend(fragments)
    out.append(b"]")
    return b"".join(out)


__all__ = ["HTML_SLOT", "TEXT_SLOT", "BodyJson", "PartJson", "json_array", "message_fragments"]
