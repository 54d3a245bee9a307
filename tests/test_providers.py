"""Each provider adapter against a local server that speaks its documented API."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store, ledger, utcnow
from newsletter.store.models import Delivery
from newsletter.store.subscribers import import_csv

from .conftest import REPO
from .helpers import write_csv
from .mock_providers import AKID, KEY, MockProvider

ENV = {
    "ses": "AWS_SECRET_ACCESS_KEY",
    "postmark": "POSTMARK_SERVER_TOKEN",
    "sendgrid": "SENDGRID_API_KEY",
    "mailgun": "MAILGUN_API_KEY",
    "resend": "RESEND_API_KEY",
}
LIMIT = {"postmark": 500, "sendgrid": 1000, "mailgun": 1000, "resend": 100, "ses": 50}
PROVIDERS = list(ENV)


@pytest.fixture(params=PROVIDERS)
def mock(request: pytest.FixtureRequest) -> Iterator[MockProvider]:
    server = MockProvider(request.param)
    yield server
    server.stop()


def setup(
    tmp_path: Path,
    mock: MockProvider,
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    extra: list[str] | None = None,
    **sending: object,
) -> tuple[Config, Store, Sender]:
    monkeypatch.setenv(ENV[mock.name], KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    cfg = Config(root=tmp_path)
    cfg.sender.email = "news@calm.example.org"
    cfg.sending.provider = mock.name
    cfg.sending.batch_size = 1000
    for k, v in sending.items():
        setattr(cfg.sending, k, v)
    cfg.providers = {mock.name: {"base_url": mock.url, "backoff": 0.01, "timeout": 5}}
    if mock.name == "mailgun":
        cfg.providers["mailgun"]["domain"] = "mg.example.org"
    store = Store(cfg.db_url)
    rows = [["email", "first_name"]]
    rows += [[f"reader{i}@example.com", f"R{i}"] for i in range(n)]
    rows += [[addr, "X"] for addr in extra or []]
    rows.append(["evil@example.com", '<img src=x onerror="alert(1)">{{7*7}}'])
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(
        store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", start="now", every="1d"
    )
    return cfg, store, Sender(store, get_provider(cfg), cfg)


def test_batches_deliver_each_message_once_within_limits(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 249 if mock.name != "resend" else 230
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, n)
    report = sender.send_due()
    assert report.sent == n + 1 and report.failed == 0
    counts = Counter(mock.addresses())
    assert len(counts) == n + 1 and set(counts.values()) == {1}
    assert max(mock.batch_sizes) <= LIMIT[mock.name]
    assert mock.requests == -(-(n + 1) // LIMIT[mock.name])  # one request per batch
    status = ledger.status(store)[0].counts
    assert status["sent"] == n + 1 and status["scheduled"] == 0
    # What a subscriber gets: their name escaped, their own one-click unsubscribe link.
    evil = next(d for d in mock.received if d.to == "evil@example.com")
    assert "<img src=x" not in evil.html and "&lt;img src=x" in evil.html
    assert "{{7*7}}" in evil.text and "49" not in evil.text.split("Hi ")[1][:20]
    r0 = next(d for d in mock.received if d.to == "reader0@example.com")
    assert "Hi R0," in r0.text and "Hi R0," in r0.html
    unsub = r0.headers["List-Unsubscribe"]
    assert unsub.startswith("<http://127.0.0.1:8025/u/") and unsub.strip("<>") in r0.html
    assert r0.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    other = next(d for d in mock.received if d.to == "reader1@example.com")
    assert other.headers["List-Unsubscribe"] != unsub
    assert sender.send_due().sent == 0, "nothing is sent twice"


def test_429_then_503_then_200(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """429 and 503 say the request was refused unprocessed: retried, with Retry-After."""
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 20)
    mock.script = [429, 503]
    report = sender.send_due()
    assert mock.requests == 3
    assert report.sent == 21
    assert Counter(mock.addresses()).most_common(1)[0][1] == 1


@pytest.mark.parametrize(
    "name,bad",
    [
        ("postmark", "inactive@example.com"),
        ("sendgrid", "invalid.box@example.com"),
        ("resend", "invalid.box@example.com"),
        ("ses", "inactive@example.com"),
    ],
)
def test_per_recipient_rejection_is_recorded_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, bad: str
) -> None:
    """(Mailgun answers for a whole request only; it has no per-recipient rejection.)"""
    mock = MockProvider(name)
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 30, extra=[bad])
        report = sender.send_due()
        assert report.sent == 31 and report.failed == 1
        assert bad not in mock.addresses() and len(set(mock.addresses())) == 31
        counts = ledger.status(store)[0].counts
        assert counts["failed"] == 1 and counts["sent"] == 31
        assert [s.email_key for s in store.suppressions()] == [bad], "gets nothing more"
        before = mock.requests
        later = utcnow() + timedelta(hours=2)
        assert sender.send_due(later).sent == 0 and mock.requests == before, "not retried"
    finally:
        mock.stop()


def test_outage_keeps_messages_for_later(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 10, max_error_rate=1.0)
    mock.script = [503] * 5  # more than the retries
    report = sender.send_due()
    assert report.sent == 0 and report.retrying == 11
    assert ledger.status(store)[0].counts["scheduled"] == 11
    report = sender.send_due(utcnow() + timedelta(minutes=6))
    assert report.sent == 11 and len(mock.received) == 11


def test_too_many_failures_pause_the_series(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 10)
    mock.key = "rotated-key"  # every request is now refused (401)
    report = sender.send_due()
    assert report.paused == ["calmer-mornings"]
    assert ledger.status(store)[0].status == "paused"
    assert any("paused after" in e.message for e in store.events())


def test_a_paused_series_sends_no_further_request(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next request is built while one is in flight, but it waits for that answer:
    after a refused request nothing more goes out, and nothing is left claimed."""
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 29, batch_size=5)
    mock.key = "rotated-key"
    report = sender.send_due()
    assert report.paused == ["calmer-mornings"] and report.batches == 1
    assert mock.requests == 1, "the batch built ahead was not sent"
    counts = ledger.status(store)[0].counts
    assert counts["failed"] + counts["scheduled"] == 30 and counts["sending"] == 0, counts
    mock.key = KEY
    ledger.set_status(store, "calmer-mornings", "active")
    later = utcnow() + timedelta(minutes=6)
    assert sender.send_due(later).sent == 30
    assert set(Counter(mock.addresses()).values()) == {1}


def test_stopping_between_requests_gives_back_what_was_built_ahead(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 29, batch_size=5)
    sender.progress = lambda report: sender.stop.set()  # stop after the first answer
    report = sender.send_due()
    # What went out was recorded (the request in flight when the stop came included);
    # the batch claimed ahead went back to the queue.
    assert 5 <= report.sent == 5 * mock.requests < 30
    counts = ledger.status(store)[0].counts
    assert (counts["sent"], counts["scheduled"], counts["sending"]) == (
        report.sent,
        30 - report.sent,
        0,
    ), counts
    sender.progress = None
    sender.stop.clear()
    assert sender.send_due().sent == 30 - report.sent
    assert sorted(Counter(mock.addresses()).values()) == [1] * 30


def test_api_key_never_logged(
    tmp_path: Path,
    mock: MockProvider,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 5, max_error_rate=1.0)
    mock.key = "something-else"
    report = sender.send_due()
    mock.script = [500] * 5
    sender.send_due(utcnow() + timedelta(minutes=6))
    assert report.sent == 0
    everything = caplog.text + " ".join(e.message for e in store.events())
    with store.begin() as c:
        errors = [row[0] or "" for row in c.execute(select(Delivery.error))]
    everything += " ".join(errors)
    assert "401" in everything or "answered" in everything
    assert KEY not in everything


def test_read_timeout_is_unknown_unless_idempotent(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 4)
    sender.provider.timeout = 0.5  # type: ignore[attr-defined]
    mock.delay = 1.0  # the first answer comes too late; the message was accepted anyway
    report = sender.send_due()
    if mock.name == "resend":
        # Retried with the same idempotency key: Resend answers without sending twice.
        assert report.sent == 5 and report.unknown == 0
        assert Counter(mock.addresses()).most_common(1)[0][1] == 1
    else:
        assert report.unknown == 5 and report.sent == 0
        assert ledger.status(store)[0].counts["unknown"] == 5
        assert sender.send_due(utcnow() + timedelta(hours=1)).sent == 0, "never guessed"


def test_crash_between_request_and_record(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after the provider accepted a batch, before the answer is stored."""
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 9, lease_seconds=0.0)
    monkeypatch.setattr(Sender, "record", lambda self, claim, results, report: None)
    monkeypatch.setattr(ledger, "release", lambda store, token: 0)
    sender.token = _token_of_a_dead_process()
    sender.send_due()  # sent, never recorded: rows stay 'sending'
    monkeypatch.undo()
    monkeypatch.setenv(ENV[mock.name], KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    assert ledger.status(store)[0].counts["sending"] == 10
    restarted = Sender(store, get_provider(cfg), cfg)
    report = restarted.send_due(utcnow() + timedelta(seconds=5))
    counts = ledger.status(store)[0].counts
    if mock.name == "resend":
        assert counts["sent"] == 10 and counts["unknown"] == 0
    else:
        assert counts["unknown"] == 10 and counts["sent"] == 0
        assert report.recovered == 10
    assert set(Counter(mock.addresses()).values()) == {1}, "nobody got it twice"


def test_a_pause_during_a_request_stops_the_batch_built_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The editor pauses the series while a request is in flight: the batch claimed and
    built meanwhile does not go out (checked when its request would start)."""
    import threading

    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 29, batch_size=5)
        mock.delay = 1.0
        pause = threading.Timer(0.4, ledger.set_status, (store, "calmer-mornings", "paused"))
        pause.start()
        report = sender.send_due()
        pause.join()
        assert report.sent == 5 and mock.requests == 1
        counts = ledger.status(store)[0].counts
        assert (counts["sent"], counts["scheduled"], counts["sending"]) == (5, 25, 0), counts
    finally:
        mock.stop()


def test_a_claim_given_back_is_not_sent_by_its_first_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender slow enough to be taken for dead loses its claimed batch to another: it
    must not send it too."""
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 9)
        campaign_id = ledger.status(store)[0].campaign_id
        slow = ledger.claim_token()
        claim = ledger.claim(store, campaign_id, 1, utcnow(), 5, slow, "postmark")
        assert claim.batch_id is not None
        assert ledger.give_back(store, claim.batch_id, slow) == 5  # by another sender
        assert not ledger.start_sending(store, claim.batch_id, slow)
        assert ledger.status(store)[0].counts["scheduled"] == 10
    finally:
        mock.stop()


def test_an_error_while_a_request_is_in_flight_still_records_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails while the next batch is being claimed: the answer to the
    request already out is recorded (not left 'unknown'), then the error goes on."""
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 29, batch_size=5)
        real = ledger.next_batch_key
        calls: list[int] = []

        def failing_second_time(store: Store, now: object) -> object:
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("database is locked")
            return real(store, now)  # type: ignore[arg-type]

        monkeypatch.setattr(ledger, "next_batch_key", failing_second_time)
        with pytest.raises(RuntimeError, match="database is locked"):
            sender.send_due()
        counts = ledger.status(store)[0].counts
        assert (counts["sent"], counts["sending"], counts["unknown"]) == (5, 0, 0), counts
        assert mock.requests == 1
    finally:
        mock.stop()


def test_crash_after_claiming_before_sending(
    tmp_path: Path, mock: MockProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies with a batch claimed and its request built, not yet sent (it
    builds the next request while one is in flight): that batch is simply due again."""
    cfg, store, sender = setup(tmp_path, mock, monkeypatch, 9, lease_seconds=0.0)
    campaign_id = ledger.status(store)[0].campaign_id
    dead = _token_of_a_dead_process()
    claim = ledger.claim(store, campaign_id, 1, utcnow(), 6, dead, mock.name)
    assert len(claim.rows) == 6 and ledger.status(store)[0].counts["sending"] == 6
    report = sender.send_due(utcnow() + timedelta(seconds=5))
    assert report.recovered == 6 and report.sent == 10 and report.unknown == 0
    counts = ledger.status(store)[0].counts
    assert (counts["sent"], counts["sending"], counts["unknown"]) == (10, 0, 0)
    assert set(Counter(mock.addresses()).values()) == {1}
    assert not ledger.unknown_batches(store)


def test_answers_are_stored_as_every_other_time_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers are written through the driver, not SQLAlchemy: their times must still be
    the text SQLAlchemy writes on SQLite (compared as text by every due-time query)."""
    import re

    from sqlalchemy import text

    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 4)
        whole_second = utcnow().replace(microsecond=0) + timedelta(seconds=1)
        assert sender.send_due(whole_second).sent == 5
        with store.begin() as c:
            stored = c.execute(text("SELECT sent_at, claimed_at FROM deliveries")).all()
    finally:
        mock.stop()
    times = {t for row in stored for t in row if t is not None}
    assert times == {whole_second.strftime("%Y-%m-%d %H:%M:%S.%f")}, times
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", t) for t in times)


def test_providers_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    (tmp_path / "newsletter.toml").write_text('[sending]\nprovider = "postmark"\n')
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 1 and "$POSTMARK_SERVER_TOKEN" in result.output
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
    result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 1 and "[sender] email" in result.output
    assert KEY not in result.output
    from .dnsserver import dns_server

    records = {
        ("calm-practice.org", "TXT"): ["v=spf1 include:spf.mtasv.net ~all"],
        ("2024pm._domainkey.calm-practice.org", "TXT"): ["k=rsa; p=MIGfMA0GCSq"],
        ("_dmarc.calm-practice.org", "TXT"): ["v=DMARC1; p=none"],
    }
    with dns_server(records) as nameserver:
        (tmp_path / "newsletter.toml").write_text(
            '[sending]\nprovider = "postmark"\n[sender]\nemail = "me@calm-practice.org"\n'
            'name = "Calm Practice"\npostal_address = "1 Quiet Lane, Leeds"\n'
            '[web]\nbase_url = "https://news.calm-practice.org"\n'
            f'[dns]\nnameserver = "{nameserver}"\ndkim_selectors = ["2024pm"]\n'
        )
        result = CliRunner().invoke(cli, ["providers", "check"])
    assert result.exit_code == 0 and "ready" in result.output, result.output


def test_test_send_marks_the_subject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    server = MockProvider("postmark")
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
        (tmp_path / "newsletter.toml").write_text(
            f'[sending]\nprovider = "postmark"\n[providers.postmark]\nbase_url = "{server.url}"\n'
        )
        issue = str(REPO / "issues" / "calmer-mornings.md")
        result = CliRunner().invoke(
            cli, ["test-send", issue, "--to", "me@example.com", "--part", "2"]
        )
        assert result.exit_code == 0, result.output
        assert [d.subject for d in server.received] == ["[TEST] Five steps to try this week"]
        result = CliRunner().invoke(cli, ["test-send", issue, "--to", "nope"])
        assert result.exit_code == 1 and "not a valid address" in result.output
    finally:
        server.stop()


def test_proofs_in_the_outbox_are_named_for_a_shell(workdir: Path) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    issue = str(REPO / "issues" / "calmer-mornings.md")
    result = CliRunner().invoke(cli, ["test-send", issue, "--to", "me@example.com"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (workdir / "outbox").iterdir())
    assert names and all(n.startswith("proof-") and n.endswith(".eml") for n in names), names
    assert not any(n.startswith("-") for n in names)


def test_every_proof_through_resend_is_delivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each proof has its own idempotency key: a second proof is not swallowed as a replay
    and an edited one is not refused with 409."""
    from newsletter.testsend import test_send

    server = MockProvider("resend")
    try:
        monkeypatch.setenv("RESEND_API_KEY", KEY)
        cfg = Config(root=tmp_path)
        cfg.sender.email = "news@calm.example.org"
        cfg.sending.provider = "resend"
        cfg.providers = {"resend": {"base_url": server.url, "backoff": 0.01}}
        issue = REPO / "issues" / "calmer-mornings.md"
        first = test_send(cfg, issue, "me@example.com", part=1)
        cfg.brand.greeting = "Hello {first_name},"  # an edit between two proofs
        second = test_send(cfg, issue, "me@example.com", part=1)
        assert [r.status for r in first + second] == ["sent", "sent"]
        assert len(server.received) == 2 and len(server.idempotency) == 2
    finally:
        server.stop()


def test_sendgrid_substitution_keys_are_not_prefixes_of_one_another() -> None:
    from newsletter.providers import sendgrid

    keys = [sendgrid.NAME_HTML, sendgrid.NAME_TEXT, sendgrid.UNSUB_HTML, sendgrid.UNSUB_TEXT]
    assert not [(a, b) for a in keys for b in keys if a != b and b.startswith(a)]


def _token_of_a_dead_process() -> str:
    """A claim token as a sender process that has since died would have written it."""
    import os
    import socket

    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"{socket.gethostname()}:{pid}:0123456789ab"
        pid += 1


@pytest.mark.parametrize("name", ["postmark", "sendgrid", "mailgun"])
def test_tracking_is_off_unless_the_editor_turns_it_on(name: str) -> None:
    from newsletter.providers.http import HttpProvider
    from newsletter.providers.mailgun import MailgunProvider
    from newsletter.providers.postmark import PostmarkProvider
    from newsletter.providers.sendgrid import SendGridProvider

    cls: type[HttpProvider] = {
        "postmark": PostmarkProvider,
        "sendgrid": SendGridProvider,
        "mailgun": MailgunProvider,
    }[name]
    from newsletter.providers import Batch, Recipient

    batch = Batch(
        key="k",
        subject="S",
        html="<p>x</p>",
        text="x",
        from_email="a@b.org",
        from_name="A",
        recipients=[Recipient(1, "r@example.com")],
    )
    settings = {"domain": "mg.example.org"}

    def body(**flags: bool) -> str:
        provider = cls(api_key=KEY, sender_email="a@b.org", settings=settings, **flags)
        payload = provider.build(batch, batch.recipients)
        return str(payload.data)

    off, on = body(), body(track_opens=True, track_clicks=True)
    if name == "postmark":
        assert '"TrackOpens": false' in off and '"TrackLinks": "None"' in off
        assert '"TrackOpens": true' in on and '"HtmlAndText"' in on
    elif name == "sendgrid":
        assert '"open_tracking": {"enable": false}' in off
        assert '"open_tracking": {"enable": true}' in on
    else:
        assert "('o:tracking-opens', 'no')" in off and "('o:tracking-opens', 'yes')" in on


def test_resend_refuses_per_message_tracking() -> None:
    from newsletter.providers.base import UnsupportedFeature
    from newsletter.providers.resend import ResendProvider

    with pytest.raises(UnsupportedFeature, match="per domain"):
        ResendProvider(api_key=KEY, track_opens=True)


def test_requests_stay_under_the_size_limit(tmp_path: Path) -> None:
    from typing import ClassVar

    from newsletter.pipeline import render_issue
    from newsletter.providers import Batch, Recipient
    from newsletter.providers.postmark import PostmarkProvider

    class SmallRequests(PostmarkProvider):
        max_request_bytes: ClassVar[int] = 100_000

    server = MockProvider("postmark")
    try:
        provider = SmallRequests(api_key=KEY, base_url=server.url, backoff=0.01)
        _, parts = render_issue(REPO / "issues" / "calmer-mornings.md", Config(root=tmp_path))
        batch = Batch(
            key="k",
            subject="S",
            html=parts[0].html,
            text=parts[0].text,
            from_email="a@calm.example.org",
            from_name="A",
            recipients=[Recipient(i, f"r{i}@example.com") for i in range(40)],
        )
        # One request per call (an unknown answer concerns one request): the rest is deferred.
        results = provider.send_batch(batch)
        first = [r for r in results if r.status == "sent"]
        assert 0 < len(first) < 40 and server.requests == 1
        assert all(r.status == "deferred" for r in results[len(first) :])
        while len(batch.recipients) > len(first):
            batch.recipients = batch.recipients[len(first) :]
            first = [r for r in provider.send_batch(batch) if r.status == "sent"]
        assert server.requests > 1 and sum(server.batch_sizes) == 40
        assert max(server.body_sizes) <= 100_000 < sum(server.body_sizes)
        assert len(set(server.addresses())) == 40
    finally:
        server.stop()


def test_ses_template_never_evaluates_article_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.providers import Batch, Recipient
    from newsletter.providers.ses import SesProvider
    from newsletter.render import FIRST_NAME

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY)
    server = MockProvider("ses")
    try:
        provider = SesProvider(api_key=KEY, base_url=server.url, backoff=0.01)
        batch = Batch(
            key="k",
            subject="Hi {{there}}",
            html=f"<p>Hi {FIRST_NAME}, {{{{ config }}}}</p>",
            text=f"Hi {FIRST_NAME}, {{{{ config }}}}",
            from_email="a@calm.example.org",
            from_name="A",
            recipients=[Recipient(1, "r@example.com", "<Zoe>")],
        )
        assert [r.status for r in provider.send_batch(batch)] == ["sent"]
        got = server.received[0]
        assert got.html == "<p>Hi &lt;Zoe&gt;, {{ config }}</p>"
        assert got.text == "Hi <Zoe>, {{ config }}" and got.subject == "Hi {{there}}"
    finally:
        server.stop()


def test_ses_takes_credentials_from_botocores_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A named profile in the shared credentials file, no key in the environment: the
    local server checks the SigV4 signature made with the profile's secret."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[newsletter]\naws_access_key_id = {AKID}\naws_secret_access_key = {KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "newsletter")
    server = MockProvider("ses")
    try:
        cfg, store, sender = setup(tmp_path, server, monkeypatch, 3)
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        sender = Sender(store, get_provider(cfg), cfg)
        assert sender.send_due().sent == 4 and len(server.received) == 4
        monkeypatch.setenv("AWS_PROFILE", "missing")
        with pytest.raises(ConfigError, match="AWS credentials"):
            get_provider(cfg)
    finally:
        server.stop()


def test_ses_without_botocore_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from newsletter.errors import ConfigError

    monkeypatch.setitem(sys.modules, "botocore.auth", None)  # as if not installed
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY)
    cfg = Config(root=tmp_path)
    cfg.sending.provider = "ses"
    with pytest.raises(ConfigError, match=r"newsletter\[ses\]"):
        get_provider(cfg)


def test_settling_unknown_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor checks the provider's log, then marks unknown rows sent or sends them."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    server = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, server, monkeypatch, 3)
        sender.provider.timeout = 0.5  # type: ignore[attr-defined]
        server.delay = 1.0
        assert sender.send_due().unknown == 4
        env = {"NEWSLETTER_DATABASE_URL": cfg.db_url}
        result = CliRunner(env=env).invoke(cli, ["status"])
        (batch,) = ledger.unknown_batches(store)
        assert f"batch {batch.id}: calmer-mornings part 1, 4 messages via postmark" in (
            " ".join(result.output.split())
        )
        both = CliRunner(env=env).invoke(
            cli, ["resume", "calmer-mornings", "--unknown-were-sent", "--resend-unknown"]
        )
        assert both.exit_code == 2
        result = CliRunner(env=env).invoke(cli, ["resume", "calmer-mornings", "--resend-unknown"])
        assert result.exit_code == 0 and "4 unknown messages scheduled again" in result.output
        assert sender.send_due(utcnow() + timedelta(minutes=1)).sent == 4
    finally:
        server.stop()


def test_settling_unknown_batches_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests lost: the provider's log shows the first, not the second."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    server = MockProvider("postmark")
    try:
        cfg, store, sender = setup(
            tmp_path, server, monkeypatch, 3, batch_size=2, max_error_rate=1.0
        )
        sender.provider.timeout = 0.5  # type: ignore[attr-defined]
        server.hold = threading.Event()  # no answer before the sender has given up on it
        assert sender.send_due().unknown == 4
        server.hold.set()
        first, second = ledger.unknown_batches(store)
        assert (first.size, second.size) == (2, 2)
        env = {"NEWSLETTER_DATABASE_URL": cfg.db_url}
        status = " ".join(CliRunner(env=env).invoke(cli, ["status"]).output.split())
        assert f"batch {first.id}:" in status and f"batch {second.id}:" in status
        assert "Senders (last alive): send-due on" in status

        def resume(*args: str) -> tuple[int, str]:
            r = CliRunner(env=env).invoke(cli, ["resume", "calmer-mornings", *args])
            return r.exit_code, " ".join(r.output.split())

        assert resume("--batch", str(first.id), "--were-sent") == (
            0,
            f"batch {first.id}: 2 messages marked sent.",
        )
        code, out = resume("--batch", str(second.id), "--resend")
        assert code == 0 and "2 messages scheduled again" in out
        code, out = resume("--batch", str(second.id), "--were-sent")
        assert code == 1 and "is settled, not unknown" in out
        assert resume("--were-sent")[0] == 2, "--were-sent needs --batch"
        assert sender.send_due(utcnow() + timedelta(minutes=1)).sent == 2
        counts = ledger.status(store)[0].counts
        assert counts["sent"] == 4 and counts["unknown"] == 0
    finally:
        server.stop()
