"""Request bodies spliced from a part encoded once per batch are the very bytes
``json.dumps`` gives for the messages built whole."""

from __future__ import annotations

import json
from pathlib import Path

from newsletter.config import Config
from newsletter.pipeline import render_issue
from newsletter.providers import Batch, Recipient
from newsletter.providers.splice import (
    HTML_SLOT,
    TEXT_SLOT,
    PartJson,
    json_array,
    message_fragments,
)
from newsletter.render import FIRST_NAME, UNSUBSCRIBE_URL

REPO = Path(__file__).resolve().parents[1]

NAMES = [
    ("Ann", "Lee"),
    ("", ""),  # the fallback greeting
    ('Zoë "Z" \\ O\'Brien', "Ünal"),
    ("<b>%%NL_FIRST_NAME%%</b>", "&amp;"),
    (UNSUBSCRIBE_URL, FIRST_NAME),
    ("Ωμέγα 🙂", "\u202eevil"),
    ("tab\there", "new\nline"),
]


def _batch(html: str, text: str, recipients: list[Recipient]) -> Batch:
    return Batch(
        key="k",
        subject='Calm "mornings" \u2014 part 1',
        html=html,
        text=text,
        from_email="news@calm.example.org",
        from_name="Calm, Mornings",
        recipients=recipients,
        tag="calm-part-1",
        metadata={"campaign": "calm", "part": "1"},
    )


def _message(batch: Batch, r: Recipient, html: str, text: str) -> dict[str, object]:
    return {
        "From": batch.from_header,
        "To": r.display,
        "Subject": batch.subject,
        "HtmlBody": html,
        "TextBody": text,
        "Headers": [{"Name": k, "Value": v} for k, v in batch.headers(r).items()],
        "Metadata": {"delivery": str(r.delivery_id), **batch.metadata},
    }


def test_spliced_bodies_are_the_bytes_json_dumps_gives(tmp_path: Path) -> None:
    _, parts = render_issue(REPO / "issues" / "calmer-mornings.md", Config(root=tmp_path))
    part = parts[0]
    assert FIRST_NAME in part.html and UNSUBSCRIBE_URL in part.text
    recipients = [
        Recipient(i, f"r{i}@example.com", first, last, f'https://n.example.org/u/t{i}?a=1&b="2"')
        for i, (first, last) in enumerate(NAMES)
    ]
    batch = _batch(part.html, part.text, recipients)
    whole = [_message(batch, r, *batch.personalize(r)) for r in recipients]
    encoded = PartJson(batch)
    spliced = []
    for r in recipients:
        spliced.append(
            message_fragments(_message(batch, r, HTML_SLOT, TEXT_SLOT), encoded.bodies(r))
        )
    body = json_array(spliced)
    assert body == json.dumps(whole, ensure_ascii=False).encode()
    received = json.loads(body)
    assert received[3]["TextBody"].count("<b>%%NL_FIRST_NAME%%</b>") == 1
    assert "&lt;b&gt;%%NL_FIRST_NAME%%&lt;/b&gt;" in received[3]["HtmlBody"]


def test_a_slot_found_elsewhere_falls_back_to_encoding_the_message_whole() -> None:
    batch = _batch("<p>Hi %%NL_FIRST_NAME%%</p>", "Hi %%NL_FIRST_NAME%%", [])
    r = Recipient(1, "a@example.com", "Ann", "", "https://n.example.org/u/x")
    message = _message(batch, r, HTML_SLOT, TEXT_SLOT)
    message["Tag"] = HTML_SLOT + "!"  # never a real tag; the splice must not touch it
    got = b"".join(message_fragments(message, PartJson(batch).bodies(r)))
    expected = dict(message, HtmlBody="<p>Hi Ann</p>", TextBody="Hi Ann")
    assert got == json.dumps(expected, ensure_ascii=False).encode()
