"""Postmark's request bodies, spliced from a part encoded once per batch, are the very
bytes ``json.dumps`` gives for the messages built whole."""

from __future__ import annotations

import json
from pathlib import Path

from newsletter.config import Config
from newsletter.pipeline import render_issue
from newsletter.providers import Batch, Recipient
from newsletter.providers.postmark import PostmarkProvider
from newsletter.providers.splice import HTML_SLOT, TEXT_SLOT, MessageJson, slot
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
        reply_to="editor@calm.example.org",
        recipients=recipients,
        tag="calm-part-1",
        metadata={"campaign": "calm", "part": "1"},
    )


def _provider() -> PostmarkProvider:
    # (a key as long as a real one: every registered key is masked in logs from then on)
    return PostmarkProvider(
        api_key="splice-test-server-token", base_url="http://127.0.0.1:9", track_clicks=True
    )


def test_postmark_bodies_are_the_bytes_json_dumps_gives(tmp_path: Path) -> None:
    _, parts = render_issue(REPO / "issues" / "calmer-mornings.md", Config(root=tmp_path))
    part = parts[0]
    assert FIRST_NAME in part.html and UNSUBSCRIBE_URL in part.text
    recipients = [
        Recipient(i, f"r{i}@example.com", first, last, f'https://n.example.org/u/t{i}?a=1&b="2"')
        for i, (first, last) in enumerate(NAMES)
    ]
    recipients.append(Recipient(99, "nolink@example.com", "Nora", "", ""))  # no headers then
    batch = _batch(part.html, part.text, recipients)
    provider = _provider()
    whole = [provider.message(batch, r, *batch.personalize(r)) for r in recipients]
    payload = provider.build(batch, recipients)
    assert payload.data == json.dumps(whole, ensure_ascii=False).encode()
    assert payload.headers["Content-Type"] == "application/json"
    received = json.loads(payload.data)
    assert received[3]["TextBody"].count("<b>%%NL_FIRST_NAME%%</b>") == 1
    assert "&lt;b&gt;%%NL_FIRST_NAME%%&lt;/b&gt;" in received[3]["HtmlBody"]
    assert "Hi there," in received[1]["TextBody"]


def test_a_slot_found_elsewhere_falls_back_to_encoding_the_message_whole() -> None:
    """A slot's text anywhere else in the message (never in real fields: they cannot hold
    control characters) makes the template unusable, and each message is encoded whole."""
    to = slot("to")
    assert MessageJson({"To": to, "HtmlBody": HTML_SLOT, "TextBody": TEXT_SLOT}, [to]).usable
    twice = {"To": to, "Tag": to, "HtmlBody": HTML_SLOT, "TextBody": TEXT_SLOT}
    assert not MessageJson(twice, [to]).usable
    missing = {"To": "a@example.com", "HtmlBody": HTML_SLOT, "TextBody": TEXT_SLOT}
    assert not MessageJson(missing, [to]).usable


def test_the_fallback_gives_the_same_bytes() -> None:
    r = Recipient(1, "a@example.com", "Ann", "", "https://n.example.org/u/x")
    batch = _batch("<p>Hi %%NL_FIRST_NAME%%</p>", "Hi %%NL_FIRST_NAME%%", [r])
    batch.metadata["campaign"] = slot("to")  # never a real slug: must stay as it is
    provider = _provider()
    whole = [provider.message(batch, r, "<p>Hi Ann</p>", "Hi Ann")]
    assert provider.build(batch, [r]).data == json.dumps(whole, ensure_ascii=False).encode()
