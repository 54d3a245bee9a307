"""`newsletter serve`: signed unsubscribe links (RFC 8058 one-click) and provider webhooks,
tested over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.serving import make_server

from newsletter.config import Config
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.signing import Signer
from newsletter.store import Store, ledger
from newsletter.store.subscribers import import_csv, iter_subscribers
from newsletter.web.app import create_app

from .conftest import REPO
from .helpers import outbox_messages, write_csv


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Store, Config]]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    cfg = Config(root=tmp_path)
    store = Store(cfg.db_url)
    rows = [
        ["email", "first_name"],
        ["ann@example.com", "Ann"],
        ["bob@example.com", "Bob"],
        ["cy@example.com", "Cy"],
    ]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    server = make_server("127.0.0.1", 0, create_app(store, "Calm Practice"), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cfg.web.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield cfg.web.base_url, store, cfg
    finally:
        server.shutdown()
        server.server_close()


def status(store: Store) -> dict[str, str]:
    return {r["email"]: r["status"] for r in iter_subscribers(store)}


def sent_links(store: Store, cfg: Config) -> dict[str, str]:
    """Queue and send part 1 through the outbox; the unsubscribe link of each message."""
    queue_issue(
        store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", start="now", every="1d"
    )
    Sender(store, get_provider(cfg), cfg).send_due()
    links = {}
    for msg in outbox_messages(cfg.outbox_path):
        links[msg["To"].addresses[0].addr_spec] = str(msg["List-Unsubscribe"]).strip("<>")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert links[msg["To"].addresses[0].addr_spec] in msg.get_body(("html",)).get_content()
    return links


def test_one_click_unsubscribe_and_the_confirmation_page(site) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    links = sent_links(store, cfg)
    # A link scanner's GET changes nothing; the page asks.
    page = requests.get(links["ann@example.com"], timeout=5)
    assert page.status_code == 200 and "Unsubscribe from everything" in page.text
    assert "Stop “Calmer Mornings Are Built the Night Before” only" in page.text
    assert status(store)["ann@example.com"] == "active"
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click.
    one = requests.post(
        links["ann@example.com"],
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert one.status_code == 200
    assert status(store)["ann@example.com"] == "unsubscribed"
    # "Stop this series only": Bob keeps his subscription, loses the rest of the series.
    stop = requests.post(links["bob@example.com"], data={"scope": "series"}, timeout=5)
    assert stop.status_code == 200 and "no more emails of" in stop.text
    assert status(store)["bob@example.com"] == "active"
    counts = ledger.status(store)[1].counts
    assert counts["skipped"] == 2 and counts["scheduled"] == 1


def test_forged_or_altered_tokens_are_refused(site) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    links = sent_links(store, cfg)
    good = links["cy@example.com"]
    token = good.rsplit("/", 1)[1]
    payload, _, sig = token.partition(".")
    # Same subscriber id, made up signature; another id with Cy's signature; a token
    # signed with another secret; plain ids.
    forged = [
        f"{payload}.{'A' * len(sig)}",
        base64.urlsafe_b64encode(b"[1,1]").decode().rstrip("=") + "." + sig,
        Signer("another-secret-of-enough-length").token(3, 1),
        "3",
        "1",
        "",
    ]
    for bad in forged:
        r = requests.post(f"{base}/u/{bad}", data={"scope": "all"}, timeout=5)
        assert r.status_code in (400, 404, 405), bad
        one = requests.post(
            f"{base}/u/{bad}",
            data="List-Unsubscribe=One-Click",
            timeout=5,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one.status_code in (400, 404, 405)
    assert set(status(store).values()) == {"active"}, "nothing changed"
    assert "not valid" in requests.get(f"{base}/u/{forged[0]}", timeout=5).text


def test_mailgun_webhook(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "mg-signing-key")

    def event(email: str, kind: str, key: str = "mg-signing-key", **extra: object) -> dict:
        ts, token = str(int(time.time())), uuid.uuid4().hex + uuid.uuid4().hex[:18]
        sig = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
        return {
            "signature": {"timestamp": ts, "token": token, "signature": sig},
            "event-data": {"event": kind, "recipient": email, **extra},
        }

    bad = requests.post(
        f"{base}/webhooks/mailgun",
        timeout=5,
        json=event("ann@example.com", "complained", key="wrong"),
    )
    assert bad.status_code == 403 and store.suppressions() == []
    ok = requests.post(
        f"{base}/webhooks/mailgun",
        timeout=5,
        json=event("ann@example.com", "failed", severity="permanent"),
    )
    assert ok.status_code == 200
    requests.post(
        f"{base}/webhooks/mailgun", json=event("bob@example.com", "complained"), timeout=5
    )
    requests.post(
        f"{base}/webhooks/mailgun",
        timeout=5,
        json=event("cy@example.com", "failed", severity="temporary"),
    )
    reasons = {s.email_key: s.reason for s in store.suppressions()}
    assert reasons == {"ann@example.com": "bounced", "bob@example.com": "complained"}
    # Suppressed addresses get nothing more.
    queue_issue(
        store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", start="now", every="1d"
    )
    report = Sender(store, get_provider(cfg), cfg).send_due()
    assert report.sent == 1
    assert [m["To"].addresses[0].addr_spec for m in outbox_messages(cfg.outbox_path)] == [
        "cy@example.com"
    ]


def test_sendgrid_signed_webhook(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(public).decode())
    body = json.dumps(
        [
            {"email": "ann@example.com", "event": "bounce", "type": "bounce"},
            {"email": "bob@example.com", "event": "spamreport"},
            {"email": "cy@example.com", "event": "delivered"},
        ]
    ).encode()
    ts = str(int(time.time()))

    def signed(payload: bytes, key: ec.EllipticCurvePrivateKey = private) -> dict[str, str]:
        sig = key.sign(ts.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
            "Content-Type": "application/json",
        }

    other = ec.generate_private_key(ec.SECP256R1())
    tampered = body.replace(b"delivered", b"spamreport")
    for headers, data in (
        (signed(body, other), body),
        (signed(body), tampered),
        ({"Content-Type": "application/json"}, body),
    ):
        r = requests.post(f"{base}/webhooks/sendgrid", data=data, headers=headers, timeout=5)
        assert r.status_code == 403
    assert store.suppressions() == []
    r = requests.post(f"{base}/webhooks/sendgrid", data=body, headers=signed(body), timeout=5)
    assert r.status_code == 200
    assert {s.email_key: s.reason for s in store.suppressions()} == {
        "ann@example.com": "bounced",
        "bob@example.com": "complained",
    }


def test_postmark_webhook_basic_auth(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    monkeypatch.setenv("POSTMARK_WEBHOOK_AUTH", "hooks:s3cret")
    bounce = {"RecordType": "Bounce", "Type": "HardBounce", "Email": "ann@example.com"}
    r = requests.post(f"{base}/webhooks/postmark", json=bounce, timeout=5)
    assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    r = requests.post(f"{base}/webhooks/postmark", json=bounce, auth=("hooks", "wrong"), timeout=5)
    assert r.status_code == 401 and store.suppressions() == []
    for body in (
        bounce,
        {
            "RecordType": "SubscriptionChange",
            "Recipient": "bob@example.com",
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
        },
        {"RecordType": "Bounce", "Type": "SoftBounce", "Email": "cy@example.com"},
    ):
        r = requests.post(
            f"{base}/webhooks/postmark", json=body, auth=("hooks", "s3cret"), timeout=5
        )
        assert r.status_code == 200
    assert {s.email_key: s.reason for s in store.suppressions()} == {
        "ann@example.com": "bounced",
        "bob@example.com": "unsubscribed",
    }
    assert status(store)["bob@example.com"] == "unsubscribed"


def test_unconfigured_webhook_refuses(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    monkeypatch.delenv("MAILGUN_WEBHOOK_SIGNING_KEY", raising=False)
    r = requests.post(f"{base}/webhooks/mailgun", json={"event-data": {}}, timeout=5)
    assert r.status_code == 503 and "MAILGUN_WEBHOOK_SIGNING_KEY" in r.text
