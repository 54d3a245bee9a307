"""`newsletter serve`: signed unsubscribe links (RFC 8058 one-click) and provider webhooks,
tested over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
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
from newsletter.store.subscribers import import_csv, iter_subscribers, token_key
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
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
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
        Signer("another-secret-of-enough-length").token(3, 1, key="k"),
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


# --- hostile and malformed webhook requests ------------------------------------------


def mailgun_body(email: str, kind: str, ts: int | None = None, token: str | None = None) -> dict:
    ts_s, token = str(ts or int(time.time())), token or uuid.uuid4().hex
    sig = hmac.new(b"mg-signing-key", (ts_s + token).encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": ts_s, "token": token, "signature": sig},
        "event-data": {"event": kind, "recipient": email, "severity": "permanent"},
    }


def test_a_replayed_or_stale_mailgun_webhook_is_refused(
    site, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "mg-signing-key")
    first = mailgun_body("ann@example.com", "failed")
    assert requests.post(f"{base}/webhooks/mailgun", json=first, timeout=5).status_code == 200
    # The captured signature with someone else's event (Mailgun signs only timestamp+token).
    replay = {**first, "event-data": {"event": "unsubscribed", "recipient": "bob@example.com"}}
    r = requests.post(f"{base}/webhooks/mailgun", json=replay, timeout=5)
    assert r.status_code == 406 and "already received" in r.text
    stale = mailgun_body("cy@example.com", "complained", ts=int(time.time()) - 16 * 60)
    r = requests.post(f"{base}/webhooks/mailgun", json=stale, timeout=5)
    assert r.status_code == 403 and "window" in r.text
    future = mailgun_body("cy@example.com", "complained", ts=int(time.time()) + 16 * 60)
    assert requests.post(f"{base}/webhooks/mailgun", json=future, timeout=5).status_code == 403
    assert {s.email_key for s in store.suppressions()} == {"ann@example.com"}
    assert status(store)["bob@example.com"] == "active"


def test_a_stale_sendgrid_webhook_is_refused(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(public).decode())
    body = json.dumps([{"email": "ann@example.com", "event": "spamreport"}]).encode()
    ts = str(int(time.time()) - 20 * 60)
    sig = private.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": ts,
    }
    r = requests.post(f"{base}/webhooks/sendgrid", data=body, headers=headers, timeout=5)
    assert r.status_code == 403 and store.suppressions() == []


def sendgrid_signer(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(public).decode())

    def sign(body: bytes) -> dict[str, str]:
        ts = str(int(time.time()))
        sig = private.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(sig).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        }

    return sign


RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-test-secret-32-bytes-long").decode()


def resend_headers(body: bytes, secret: str = RESEND_SECRET, ts: int | None = None) -> dict:
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(ts or int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "svix-id": msg_id,
        "svix-timestamp": stamp,
        # during a secret rotation Svix sends one signature per secret
        "svix-signature": f"v1,{base64.b64encode(b'old' * 11).decode()} "
        f"v1,{base64.b64encode(mac).decode()}",
    }


def test_malformed_webhook_bodies_answer_400_and_change_nothing(
    site, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "mg-signing-key")
    monkeypatch.setenv("POSTMARK_WEBHOOK_AUTH", "hooks:s3cret")
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", RESEND_SECRET)
    sign = sendgrid_signer(monkeypatch)
    signed_mg = mailgun_body("ann@example.com", "failed")
    cases: list[tuple[str, bytes, dict[str, str]]] = []
    pm = {"Authorization": "Basic " + base64.b64encode(b"hooks:s3cret").decode()}
    for body in (b"[]", b'"text"', b'{"RecordType": 5}', b'{"RecordType": "Bounce"}'):
        cases.append(("postmark", body, pm))
    cases.append(("postmark", b'{"RecordType": "Bounce", "Type": "HardBounce", "Email": 7}', pm))
    for body in (b"{}", b"[1]", b'[{"event": "bounce"}]', b'[{"event": ["bounce"]}]', b"{"):
        cases.append(("sendgrid", body, sign(body)))
    for body in (b"[]", b"null", b'{"signature": "abc"}'):
        cases.append(("mailgun", body, {}))
    no_data = {k: v for k, v in signed_mg.items() if k != "event-data"}
    cases.append(("mailgun", json.dumps(no_data).encode(), {}))
    wrong = {**mailgun_body("ann@example.com", "failed"), "event-data": {"event": "failed"}}
    cases.append(("mailgun", json.dumps(wrong).encode(), {}))
    for body in (
        b"[]",
        b'{"type": "email.bounced"}',
        b'{"type": "email.bounced", "data": {"to": "a"}}',
    ):
        cases.append(("resend", body, resend_headers(body)))
    big = b'[{"event": "spamreport", "email": "ann@example.com"}' + b" " * (6 << 20) + b"]"
    cases.append(("sendgrid", big, sign(big)))
    for provider, body, headers in cases:
        r = requests.post(f"{base}/webhooks/{provider}", data=body, headers=headers, timeout=60)
        assert r.status_code in (400, 403), (provider, body[:60], r.status_code, r.text)
        assert "Traceback" not in r.text and "Internal Server Error" not in r.text
        if r.status_code == 403:  # only an unsigned body may be refused as unauthenticated
            assert provider == "mailgun" and b"event-data" not in body, (body, r.text)
    assert store.suppressions() == [] and set(status(store).values()) == {"active"}


def test_resend_webhook_svix_signature(site, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, store, cfg = site
    url = f"{base}/webhooks/resend"
    body = json.dumps({"type": "email.bounced", "data": {"to": ["ann@example.com"]}}).encode()
    assert requests.post(url, data=body, headers=resend_headers(body), timeout=5).status_code == 503
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", RESEND_SECRET)
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    tampered = body.replace(b"ann@", b"bob@")
    for data, headers in (
        (body, resend_headers(body, other)),
        (tampered, resend_headers(body)),
        (body, resend_headers(body, ts=int(time.time()) - 6 * 60)),
        (body, {}),
    ):
        assert requests.post(url, data=data, headers=headers, timeout=5).status_code == 403
    assert store.suppressions() == []
    complaint = json.dumps(
        {
            "type": "email.complained",
            "created_at": "2026-11-25T12:00:00.000Z",
            "data": {"email_id": "e1", "to": ["bob@example.com"], "subject": "Part 1"},
        }
    ).encode()
    delivered = json.dumps({"type": "email.delivered", "data": {"to": ["cy@example.com"]}})
    for data in (body, complaint, delivered.encode()):
        r = requests.post(url, data=data, headers=resend_headers(data), timeout=5)
        assert r.status_code == 200, r.text
    assert {s.email_key: (s.reason, s.source) for s in store.suppressions()} == {
        "ann@example.com": ("bounced", "resend"),
        "bob@example.com": ("complained", "resend"),
    }


# --- SES through SNS: a local certificate server stands in for sns.<region>.amazonaws.com


@pytest.fixture
def sns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A certificate and SubscribeURL server on 127.0.0.1, the signing key, and a site whose
    SES webhook trusts that server (and nothing else)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID
    from flask import Flask

    from newsletter.webhooks import webhook_providers

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    visits: list[str] = []
    aws = Flask("aws")

    @aws.get("/SimpleNotificationService-test.pem")
    def pem() -> bytes:
        visits.append("cert")
        return cert.public_bytes(serialization.Encoding.PEM)

    @aws.get("/confirm")
    def confirm() -> str:
        visits.append("confirm")
        return "<ConfirmSubscriptionResponse/>"

    aws_server = make_server("127.0.0.1", 0, aws, threaded=True)
    threading.Thread(target=aws_server.serve_forever, args=(0.05,), daemon=True).start()
    local = f"http://127.0.0.1:{aws_server.server_address[1]}"
    monkeypatch.setenv("SES_WEBHOOK_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:ses-events")
    store = Store(f"sqlite:///{tmp_path / 'ses.db'}")
    import_csv(
        store, write_csv(tmp_path / "s.csv", [["email"], ["ann@example.com"], ["bob@example.com"]])
    )
    from functools import partial

    from newsletter.webhooks.ses import fetch_url

    hooks = webhook_providers(
        fetch=partial(fetch_url, allow_private=True),  # the stand-in for AWS is on 127.0.0.1
        trusted_url=lambda url: url.startswith(local + "/"),
    )
    strict = make_server("127.0.0.1", 0, create_app(store, "Calm"), threaded=True)
    lenient = make_server("127.0.0.1", 0, create_app(store, "Calm", hooks), threaded=True)
    for s in (strict, lenient):
        threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True).start()

    def message(kind: str, version: str = "2", **fields: str) -> dict[str, str]:
        m = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-events",
            "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "SignatureVersion": version,
            "SigningCertURL": f"{local}/SimpleNotificationService-test.pem",
            **fields,
        }
        signed = "".join(
            f"{k}\n{m[k]}\n"
            for k in (
                "Message",
                "MessageId",
                "SubscribeURL",
                "Subject",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type",
            )
            if k in m
        )
        algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303
        sig = key.sign(signed.encode(), padding.PKCS1v15(), algorithm)
        m["Signature"] = base64.b64encode(sig).decode()
        return m

    urls = {
        "strict": f"http://127.0.0.1:{strict.server_address[1]}/webhooks/ses",
        "test": f"http://127.0.0.1:{lenient.server_address[1]}/webhooks/ses",
        "aws": local,
    }
    try:
        yield urls, store, message, visits
    finally:
        for s in (strict, lenient, aws_server):
            s.shutdown()
            s.server_close()


def ses_notification(kind: str, **detail: object) -> str:
    return json.dumps({"notificationType": kind, "mail": {"messageId": "m1"}, **detail})


def test_ses_webhook_through_sns(sns) -> None:  # type: ignore[no-untyped-def]
    urls, store, message, visits = sns
    confirm = message(
        "SubscriptionConfirmation",
        Message="You have chosen to subscribe to the topic ...",
        SubscribeURL=f"{urls['aws']}/confirm",
        Token="2336412f37",
    )
    r = requests.post(urls["test"], json=confirm, timeout=5)
    assert r.status_code == 200 and "subscription confirmed" in r.text
    assert visits == ["cert", "confirm"]
    bounce = ses_notification(
        "Bounce",
        bounce={
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "ann@example.com"}],
        },
    )
    soft = ses_notification(
        "Bounce",
        bounce={"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "x@y.org"}]},
    )
    complaint = ses_notification(
        "Complaint", complaint={"complainedRecipients": [{"emailAddress": "bob@example.com"}]}
    )
    for text, version in ((bounce, "2"), (soft, "2"), (complaint, "1")):
        r = requests.post(urls["test"], json=message("Notification", version, Message=text))
        assert r.status_code == 200, r.text
    assert {s.email_key: (s.reason, s.detail) for s in store.suppressions()} == {
        "ann@example.com": ("bounced", "General"),
        "bob@example.com": ("complained", ""),
    }
    assert visits.count("cert") == 1, "the certificate is fetched once"


def test_ses_webhook_refuses_what_sns_did_not_sign(sns, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    urls, store, message, visits = sns
    bounce = ses_notification(
        "Bounce",
        bounce={"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "a@b.org"}]},
    )
    good = message("Notification", Message=bounce)
    tampered = {**good, "Message": bounce.replace("a@b.org", "ann@example.com")}
    other_topic = message(
        "Notification", Message=bounce, TopicArn="arn:aws:sns:us-east-1:999999999999:theirs"
    )
    foreign_cert = {**good, "SigningCertURL": "https://evil.example.net/cert.pem"}
    confirm_elsewhere = message(
        "SubscriptionConfirmation",
        Message="subscribe",
        SubscribeURL="https://evil.example.net/confirm",
        Token="t",
    )
    for body in (tampered, other_topic, foreign_cert, confirm_elsewhere):
        r = requests.post(urls["test"], json=body, timeout=5)
        assert r.status_code == 403, (body, r.text)
    # By default only https on sns.<region>.amazonaws.com: the local server is not fetched.
    visits.clear()
    r = requests.post(urls["strict"], json=good, timeout=5)
    assert r.status_code == 403 and "SigningCertURL" in r.text and visits == []
    for body in (b"[]", b"{}", json.dumps(message("Notification", Message="not json")).encode()):
        r = requests.post(urls["test"], data=body, timeout=5)
        assert r.status_code == 400, r.text
    assert "confirm" not in visits and store.suppressions() == []
    monkeypatch.delenv("SES_WEBHOOK_TOPIC_ARN")
    assert requests.post(urls["test"], json=good, timeout=5).status_code == 503


def test_one_table_of_event_types_for_every_provider() -> None:
    from newsletter.providers import PROVIDERS
    from newsletter.store import SUPPRESSION_REASONS
    from newsletter.webhooks import EVENT_TYPES, EventType, webhook_providers

    # (smtp has no webhook: its bounces are read from the mailbox, under "imap")
    assert set(webhook_providers()) == set(EVENT_TYPES) - {"imap"}
    assert set(EVENT_TYPES) - {"imap"} == set(PROVIDERS) - {"outbox", "smtp"}
    assert {t.value for t in EventType} <= set(SUPPRESSION_REASONS)


# --- the WSGI entry point (what gunicorn serves) ----------------------------------------


def test_the_wsgi_app_reads_newsletter_config_and_unsubscribes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys

    from sqlalchemy import select

    from newsletter.store.models import Subscriber

    monkeypatch.setenv("NEWSLETTER_SECRET", "wsgi-test-secret-0123456789")
    (tmp_path / "newsletter.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "live.db"}"\n[sender]\nname = "Calm Practice"\n'
    )
    monkeypatch.setenv("NEWSLETTER_CONFIG", str(tmp_path / "newsletter.toml"))
    monkeypatch.chdir(REPO)  # not the workspace: the path comes from the environment
    store = Store(f"sqlite:///{tmp_path / 'live.db'}")
    import_csv(store, write_csv(tmp_path / "s.csv", [["email"], ["ann@example.com"]]))
    sys.modules.pop("newsletter.web.wsgi", None)
    wsgi = importlib.import_module("newsletter.web.wsgi")
    server = make_server("127.0.0.1", 0, wsgi.app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with store.begin() as conn:
            sid = conn.scalar(select(Subscriber.id))
        link = Signer.from_env("unused").unsubscribe_url(base, sid, key=token_key(store, sid))
        page = requests.get(link, timeout=5)
        assert page.status_code == 200 and "Calm Practice" in page.text
        r = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=5)
        assert r.status_code == 200 and status(store) == {"ann@example.com": "unsubscribed"}
    finally:
        server.shutdown()
        server.server_close()
        sys.modules.pop("newsletter.web.wsgi", None)


def test_the_wsgi_app_without_newsletter_config_is_a_one_line_error(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NEWSLETTER_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-c", "import newsletter.web.wsgi"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "$NEWSLETTER_CONFIG is not set" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_the_example_units_run_real_commands() -> None:
    from newsletter.cli import cli

    units = {p.name: p.read_text() for p in (REPO / "contrib").iterdir()}
    assert "newsletter.web.wsgi:app" in units["newsletter-web.service"]
    for name, command in (("newsletter-run.service", "run"), ("newsletter.cron", "send-due")):
        assert f"/bin/newsletter {command}" in units[name] and command in cli.commands


def test_a_mailgun_token_is_accepted_once_on_every_database(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay memory is a table: the same on SQLite and PostgreSQL, and a refused
    replay rolls back nothing that came before it."""
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "mg-signing-key")
    store = Store(db_url)
    server = make_server("127.0.0.1", 0, create_app(store, "Calm"), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/mailgun"
    try:
        first = mailgun_body("ann@example.com", "failed")
        answers = [requests.post(url, json=first, timeout=5).status_code for _ in range(3)]
        assert answers == [200, 406, 406]
        second = mailgun_body("bob@example.com", "complained")
        assert requests.post(url, json=second, timeout=5).status_code == 200
        assert {s.email_key for s in store.suppressions()} == {"ann@example.com", "bob@example.com"}
    finally:
        server.shutdown()
        server.server_close()


# --- replays (issue 18): every signing provider accepts a signed request once ----------------


def _post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers=headers, timeout=60)


@contextlib.contextmanager
def webhook_server(db_url: str) -> Iterator[tuple[str, Store]]:
    """`newsletter serve` on ``db_url``: its webhooks' address and the store."""
    store = Store(db_url)
    server = make_server("127.0.0.1", 0, create_app(store, "Calm"), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks", store
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_a_replay_never_suppresses_again_an_address_the_editor_lifted(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendGrid and Resend (Svix) on SQLite and PostgreSQL: the same signed request sent
    again, after the editor lifted the suppression it brought, changes nothing."""
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", RESEND_SECRET)
    sign = sendgrid_signer(monkeypatch)
    with webhook_server(db_url) as (base, store):
        sg = json.dumps([{"email": "ann@example.com", "event": "spamreport"}]).encode()
        rs = json.dumps({"type": "email.bounced", "data": {"to": ["bob@example.com"]}}).encode()
        captured = [
            (f"{base}/sendgrid", sg, sign(sg), "ann@example.com"),
            (f"{base}/resend", rs, resend_headers(rs), "bob@example.com"),
        ]
        for url, body, headers, email in captured:
            first = _post(url, body, headers)
            assert first.status_code == 200 and "1 suppressed" in first.text, first.text
            assert store.unsuppress(email), "the editor lifts it"
            again = _post(url, body, headers)
            # a 2xx: a provider's own retry of a request already applied must stop
            assert again.status_code == 200 and "already received" in again.text, again.text
        assert store.suppressions() == []
        # a new request (another svix-id, another SendGrid timestamp) is applied as before
        assert _post(f"{base}/resend", rs, resend_headers(rs)).status_code == 200
        assert {s.email_key for s in store.suppressions()} == {"bob@example.com"}


def test_an_ses_message_is_accepted_once_and_only_within_the_hour(sns) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    urls, store, message, visits = sns
    bounce = ses_notification(
        "Bounce",
        bounce={
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "ann@example.com"}],
        },
    )
    signed = message("Notification", Message=bounce)
    first = requests.post(urls["test"], json=signed, timeout=5)
    assert first.status_code == 200 and "1 suppressed" in first.text
    assert store.unsuppress("ann@example.com")
    again = requests.post(urls["test"], json=signed, timeout=5)
    assert again.status_code == 200 and "already received" in again.text
    assert store.suppressions() == []
    for hours in (-2, 2):  # SNS retries for an hour at most: older (or newer) is a replay
        when = datetime.now(UTC) + timedelta(hours=hours)
        stale = message(
            "Notification", Message=bounce, Timestamp=when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        )
        r = requests.post(urls["test"], json=stale, timeout=5)
        assert r.status_code == 403 and "window" in r.text, r.text
    assert store.suppressions() == []


def test_nul_and_surrogates_in_a_signed_webhook_are_a_400(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILGUN_WEBHOOK_SIGNING_KEY", "mg-signing-key")
    monkeypatch.setenv("RESEND_WEBHOOK_SECRET", RESEND_SECRET)
    sign = sendgrid_signer(monkeypatch)
    with webhook_server(db_url) as (base, store):
        for bad in ("ann\\u0000@example.com", "\\ud800ann@example.com"):
            sg = '[{"email": "BAD", "event": "spamreport"}]'.replace("BAD", bad).encode()
            rs = '{"type": "email.bounced", "data": {"to": ["BAD"]}}'.replace("BAD", bad).encode()
            mg = json.dumps(mailgun_body("x@example.com", "failed")).replace("x@example.com", bad)
            for url, body, headers in (
                (f"{base}/sendgrid", sg, sign(sg)),
                (f"{base}/resend", rs, resend_headers(rs)),
                (f"{base}/mailgun", mg.encode(), {"Content-Type": "application/json"}),
            ):
                r = _post(url, body, headers)
                assert r.status_code == 400, (url, r.status_code, r.text)
                assert "NUL" in r.text or "surrogate" in r.text, r.text
        assert store.suppressions() == []
