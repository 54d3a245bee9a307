"""JSON request bodies for many personalised copies of one part, without encoding the part
once per recipient.

A provider whose batch API carries every message in full (Postmark) sends the same HTML
and text hundreds of times with a few fields changed. ``PartJson`` splits the part's HTML
and text at their placeholders once per batch and JSON-encodes the pieces; a recipient's
body is then the pieces joined with that recipient's encoded values. ``MessageJson`` does
the same for the rest of the message: encoded once with slots for the recipient's address,
headers and bodies. The bytes are exactly those of ``json.dumps(messages,
ensure_ascii=False).encode()``: JSON escapes a string character by character, so the
encoding of a concatenation is the concatenation of the encodings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring
from typing import Any

from ..render import MARKER
from .base import Batch, Recipient


def slot(name: str) -> str:
    """A value no real field takes (control characters, which names, addresses and
    subjects cannot contain), to stand for a recipient's own value in a template."""
    return f"\x00newsletter-{name}\x00"


#: what a message holds in place of its HTML and text until they are spliced in
HTML_SLOT = slot("html")
TEXT_SLOT = slot("text")


#: ``json.dumps(..., ensure_ascii=False)`` without making an encoder on every call
ENCODER = json.JSONEncoder(ensure_ascii=False)


def _encoded(value: str) -> bytes:
    """The JSON string literal of ``value`` without its quotes."""
    return encode_basestring(value)[1:-1].encode()


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
        self.batch = batch
        self.html = BodyJson(batch.html)
        self.text = BodyJson(batch.text)

    def bodies(self, r: Recipient) -> dict[bytes, list[bytes]]:
        """The recipient's HTML and text as JSON string fragments, by the slot they fill
        (each placeholder's value as ``Batch.personalize`` puts it in)."""
        html_values, text_values = self.batch.placeholders(r)
        return {
            _HTML_JSON: self.html.fragments({k: _encoded(v) for k, v in html_values.items()}),
            _TEXT_JSON: self.text.fragments({k: _encoded(v) for k, v in text_values.items()}),
        }


_HTML_JSON = json.dumps(HTML_SLOT).encode()
_TEXT_JSON = json.dumps(TEXT_SLOT).encode()


def string_json(value: str) -> list[bytes]:
    """A string's JSON (what ``json.dumps(value, ensure_ascii=False)`` writes), as
    fragments."""
    return [encode_basestring(value).encode()]


class MessageJson:
    """One message JSON-encoded once per batch, with slots where each recipient's values
    go (their HTML and text included); a recipient's message is the pieces joined with
    that recipient's encoded values. ``usable`` is False when a slot's text is not found
    exactly once (then encode each message whole)."""

    def __init__(self, template: Mapping[str, Any], slots: Iterable[str]) -> None:
        keys = [json.dumps(s).encode() for s in {*slots, HTML_SLOT, TEXT_SLOT}]
        found = re.compile(b"(" + b"|".join(re.escape(k) for k in keys) + b")")
        split = found.split(json.dumps(template, ensure_ascii=False).encode())
        self.pieces, self.slots = split[0::2], split[1::2]
        self.usable = sorted(self.slots) == sorted(keys)

    def fragments(self, values: Mapping[bytes, list[bytes]]) -> list[bytes]:
        """The message for one recipient: ``values`` maps each slot (as :func:`json.dumps`
        writes it) to the JSON of the recipient's value, as fragments."""
        out = [self.pieces[0]]
        for key, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.extend(values[key])
            out.append(piece)
        return out


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


__all__ = [
    "ENCODER",
    "HTML_SLOT",
    "TEXT_SLOT",
    "BodyJson",
    "MessageJson",
    "PartJson",
    "json_array",
    "slot",
    "string_json",
]
