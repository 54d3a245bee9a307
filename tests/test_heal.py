"""Delivery that heals itself (issue 23): lost answers settled from evidence for that
exact message, transient faults retried without a pause, the editor told once.

The fault battery runs the real send loop and ``newsletter run``'s settle job against
servers on 127.0.0.1 that speak each provider's API (with its message log), on a fake
clock: nothing sleeps, each step says what time it is."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from newsletter import webhooks
from newsletter.config import Config
from newsletter.notice import tell_editor
from newsletter.providers import get_provider
from newsletter.reconcile import Settler, reconcile
from newsletter.sender import Sender
from newsletter.store import Store, ledger, utcnow

from .helpers import LIVE_SETTINGS, newsletter_process, outbox_messages, stop_process
from .mock_providers import KEY, FaultyFront, MockProvider
from .test_providers import setup
from .test_web import sendgrid_signer

N = 30  # subscribers; setup() adds one more with a hostile name
PROVIDERS = ["postmark", "sendgrid", "mailgun", "resend"]
AFTER_ACCEPT = ["500", "504", "drop", "hang", "nonjson", "short"]
BEFORE_ACCEPT = ["429", "429-long", "500", "503", "refused"]


def _once_each(mock: MockProvider, n: int = N + 1) -> None:
    times = Counter(d.to for d in mock.received if d.subject and "need you" not in d.subject)
    assert len(times) == n, f"lost: {n - len(times)}"
    assert set(times.values()) == {1}, f"doubled: {times.most_common(3)}"


def _counts(store: Store) -> dict[str, int]:
    return ledger.status(store)[0].counts


def _sendgrid_events(mock: MockProvider, sign: Callable[[bytes], dict[str, str]]) -> Callable:
    """SendGrid's event webhook as it posts: a ``processed`` event for each message it
    accepted, with our custom_args as the event's own fields."""
    told: set[int] = set()

    def post(store: Store) -> None:
        events = []
        for i, d in enumerate(list(mock.received)):
            if i not in told and d.meta.get("batch"):
                told.add(i)
                events.append({"email": d.to, "event": "processed", **d.meta})
        if events:
            body = json.dumps(events).encode()
            hook = webhooks.webhook_providers()["sendgrid"]
            webhooks.receive(store, hook, webhooks.Inbound.of(body, sign(body)))

    return post


def _heal(
    cfg: Config,
    store: Store,
    sender: Sender,
    events: Callable[[Store], None] | None = None,
    start: datetime | None = None,
    steps: int = 40,
) -> datetime:
    """`newsletter run` on a fake clock: send what is due, let the settle job look at the
    unknown batches, let the provider's webhook events arrive; until everything is sent."""
    settler = Settler(store, cfg)
    now = start or utcnow()
    for _ in range(steps):
        sender.send_due(now)
        if events:
            events(store)
        settler.run(now)
        c = _counts(store)
        if c["sent"] + c["failed"] == N + 1:
            return now
        nxt = ledger.next_due(store)  # (part 2 is due a day later: never reached here)
        now += timedelta(minutes=3)
        if nxt is not None and nxt < now + timedelta(hours=2):
            now = max(now, nxt)
    raise AssertionError(f"not settled: {_counts(store)}")


@pytest.fixture
def on_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    return db_url


@pytest.mark.parametrize("fault", AFTER_ACCEPT)
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_lost_answer_heals_without_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_db: str, name: str, fault: str
) -> None:
    """The provider accepted the batch, the answer was lost: 0 lost, 0 doubled, nothing
    paused, no command typed (SendGrid: once its webhook events arrive)."""
    mock = MockProvider(name)
    spoiler = FaultyFront(mock, fault, hang=3.0)
    try:
        cfg, store, _ = setup(tmp_path, mock, monkeypatch, N, max_error_rate=1.0)
        cfg.providers[name].update(base_url=spoiler.url, timeout=1.0, deadline=2.0)
        sender = Sender(store, get_provider(cfg), cfg)
        events = (
            _sendgrid_events(mock, sendgrid_signer(monkeypatch)) if name == "sendgrid" else None
        )
        _heal(cfg, store, sender, events)
        _once_each(mock)
        assert _counts(store)["unknown"] == 0 and ledger.unknown_batches(store) == []
        assert ledger.status(store)[0].status == "active", "nothing paused"
        sender.provider.close()
    finally:
        spoiler.stop()
        mock.stop()


@pytest.mark.parametrize("fault", BEFORE_ACCEPT)
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_refusal_before_accepting_heals_without_a_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, on_db: str, name: str, fault: str
) -> None:
    """429 (Retry-After 1 s and 1 h), 500 and 503 before the provider handled anything, or
    the connection refused: retried, never paused; the 500 (which may have been accepted
    for all we know) settled from the log, by the same key, or by the editor's one
    decision where only webhook events could tell (SendGrid: none come)."""
    mock = MockProvider(name)
    spoiler = FaultyFront(mock, "refuse") if fault == "refused" else None
    try:
        cfg, store, _ = setup(tmp_path, mock, monkeypatch, N, max_error_rate=0.5)
        cfg.sending.settle_within, cfg.sending.settle_within_interval = "1h", timedelta(hours=1)
        if spoiler is not None:
            cfg.providers[name]["base_url"] = spoiler.url
        elif fault == "429-long":
            mock.script, mock.retry_after = [429], 3600
        elif fault == "500":
            mock.script = [500]
        else:  # more refusals than the retries in the request (each 429 says: 1 s)
            cfg.providers[name]["retries"] = 1
            mock.script = [int(fault)] * 2
        sender = Sender(store, get_provider(cfg), cfg)
        first = sender.send_due()
        assert first.paused == [] and ledger.status(store)[0].status == "active"
        if spoiler is not None:  # the provider is back
            assert first.retrying == N + 1 and _counts(store)["scheduled"] == N + 1
            cfg.providers[name]["base_url"] = mock.url
            sender.provider.close()
            sender.provider = get_provider(cfg)
        if name == "sendgrid" and fault == "500":
            with pytest.raises(AssertionError, match="not settled"):
                _heal(cfg, store, sender, steps=30)
            (decision,) = [e for e in store.events(50) if e.kind == "decision"]
            (b,) = ledger.unknown_batches(store)
            for word in ("--were-sent", "--resend"):
                assert f"newsletter resume calmer-mornings --batch {b.id} {word}" in (
                    decision.message
                )
            ledger.resend(store, b.id)  # the editor's decision: SendGrid shows nothing
        _heal(cfg, store, sender)
        _once_each(mock)
        assert ledger.status(store)[0].status == "active", "nothing paused"
        assert _counts(store)["failed"] == 0
        sender.provider.close()
    finally:
        if spoiler is not None:
            spoiler.stop()
        mock.stop()


@pytest.mark.parametrize("name", ["postmark", "mailgun"])
def test_two_databases_on_one_account_never_take_each_others_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Staging and production (or a re-created database) on one provider account, the
    same readers, the same batch numbers: production's batch went out; staging's only
    request was answered 502 by a proxy before reaching the provider. Reconcile in
    staging finds none of ITS messages in the log: nothing is marked sent that was not."""
    mock = MockProvider(name)
    try:
        (tmp_path / "prod").mkdir()
        (tmp_path / "staging").mkdir()
        prod_cfg, prod, prod_sender = setup(tmp_path / "prod", mock, monkeypatch, N)
        assert prod_sender.send_due().sent == N + 1
        cfg, staging, sender = setup(tmp_path / "staging", mock, monkeypatch, N)
        assert prod.installation_id() != staging.installation_id()
        mock.script = [502]
        assert sender.send_due().unknown == N + 1
        (b,) = ledger.unknown_batches(staging)
        assert b.id == ledger.unknown_batches(staging)[0].id == 1, "the same batch number"
        (r,) = reconcile(staging, cfg)
        assert (r.sent, r.resend, r.problem) == (0, N + 1, ""), r
        assert sender.send_due().sent == N + 1
        times = Counter(d.to for d in mock.received)
        assert set(times.values()) == {2}, "once from each database, never marked sent unsent"
        ids = {d.meta["batch"] for d in mock.received}
        assert len(ids) == 2 and all(i.startswith("nl-") for i in ids)
    finally:
        mock.stop()


def test_our_message_id_carries_the_batchs_global_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 3)
        sender.send_due()
        d = mock.received[0]
        key = d.meta["batch"]
        assert key.startswith(f"nl-{store.installation_id()}-")
        assert d.headers["Message-ID"] == f"<{key}.d{d.meta['delivery']}@calm.example.org>"
        assert d.stream == "broadcast"
    finally:
        mock.stop()


def test_postmark_mock_searches_the_default_stream_without_messagestream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Postmark documents it: a search without ``messagestream`` looks in the default
    transactional stream, where our broadcast mail is not."""
    import requests

    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 3)
        sender.send_due()
        key = mock.received[0].meta["batch"]
        url, head = f"{mock.url}/messages/outbound", {"X-Postmark-Server-Token": KEY}
        params = {"count": "500", "offset": "0", "metadata_batch": key}
        plain = requests.get(url, params=params, headers=head, timeout=60).json()
        ours = requests.get(
            url, params={**params, "messagestream": "broadcast"}, headers=head, timeout=10
        ).json()
        assert (plain["TotalCount"], ours["TotalCount"]) == (0, 4)
    finally:
        mock.stop()


def test_sendgrid_webhook_events_are_kept_as_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SendGrid batch whose answer was lost: ``processed`` events settle the rows they
    name, ``dropped`` sends them again, rows with no event yet stay unknown."""
    mock = MockProvider("sendgrid")
    spoiler = FaultyFront(mock, "drop")
    try:
        cfg, store, _ = setup(tmp_path, mock, monkeypatch, N, max_error_rate=1.0)
        cfg.providers["sendgrid"].update(base_url=spoiler.url, timeout=1.0, deadline=2.0)
        sender = Sender(store, get_provider(cfg), cfg)
        assert sender.send_due().unknown == N + 1
        sign = sendgrid_signer(monkeypatch)
        seen = mock.received
        events = [{"email": d.to, "event": "processed", **d.meta} for d in seen[:20]]
        events += [
            {"email": d.to, "event": "dropped", "reason": "x", **d.meta} for d in seen[20:25]
        ]
        body = json.dumps(events).encode()
        hook = webhooks.webhook_providers()["sendgrid"]
        webhooks.receive(store, hook, webhooks.Inbound.of(body, sign(body)))
        (r,) = reconcile(store, cfg)
        assert (r.sent, r.resend) == (20, 5) and "6 messages wait" in r.problem
        assert _counts(store)["unknown"] == 6
        sender.provider.close()
    finally:
        spoiler.stop()
        mock.stop()


def test_credentials_refused_pause_and_the_editor_is_told_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated key pauses the series (only a person can fix it); the editor gets one
    mail (in the outbox here) saying so, with the command; not again for the same event;
    a batch with no evidence within settle_within is the next mail, an hour later."""
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, N)
        mock.key = "rotated-key"
        assert sender.send_due().paused == ["calmer-mornings"]
        counts = _counts(store)
        assert counts["scheduled"] == N + 1 and counts["failed"] == 0, "back in the queue"
        notify = Config(root=tmp_path)  # the editor's mail through the outbox
        notify.sender.email, notify.notify.email = "news@calm.example.org", "ed@calm.example.org"
        now = utcnow()
        assert "told of 1" in tell_editor(store, notify, now)
        (mail,) = outbox_messages(notify.outbox_path)
        assert mail["To"] == "ed@calm.example.org"
        body = mail.get_body(("plain",)).get_content()
        assert "paused after" in body and "newsletter resume calmer-mornings" in body
        assert tell_editor(store, notify, now + timedelta(hours=2)) == "", "once per event"
        # A SendGrid-like batch with no evidence: one decision, told within the hour limit.
        mock.key = KEY
        ledger.set_status(store, "calmer-mornings", "active")
        sender.provider.close()
        spoiler = FaultyFront(mock, "drop")
        cfg.providers["postmark"].update(base_url=spoiler.url, timeout=1.0, deadline=2.0)
        cfg.sending.settle_within_interval = timedelta(minutes=10)
        try:
            from newsletter.providers.postmark import PostmarkProvider

            monkeypatch.setattr(PostmarkProvider, "evidence_source", "none")
            sender = Sender(store, get_provider(cfg), cfg)
            assert sender.send_due(now).unknown == N + 1
            settler = Settler(store, cfg)
            for k in range(1, 8):
                settler.run(now + timedelta(minutes=5 * k))
            decisions = [e for e in store.events(50) if e.kind == "decision"]
            assert len(decisions) == 1, "one decision"
            assert tell_editor(store, notify, now + timedelta(minutes=30)) == "", "hourly"
            assert "told of 1" in tell_editor(store, notify, now + timedelta(hours=3))
            mails = outbox_messages(notify.outbox_path)
            assert len(mails) == 2
            text = mails[-1].get_body(("plain",)).get_content()
            assert "--were-sent" in text and "--resend" in text
            sender.provider.close()
        finally:
            spoiler.stop()
    finally:
        mock.stop()


def test_run_left_running_settles_a_lost_postmark_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsletter run` left running, no command typed: a 500 after Postmark accepted the
    batch; run's settle job finds it in the broadcast stream's log and marks it sent.
    Waits on the ledger, never a fixed time."""
    mock = MockProvider("postmark")
    spoiler = FaultyFront(mock, "500")
    try:
        (tmp_path / "newsletter.toml").write_text(
            LIVE_SETTINGS + '[sending]\nprovider = "postmark"\npoll_seconds = 0.3\n'
            'settle_after = "1s"\nbatch_size = 10\n'
            f'[providers.postmark]\nbase_url = "{spoiler.url}"\ntimeout = 5\nbackoff = 0.01\n'
        )
        monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
        monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
        from newsletter.config import load_config

        cfg = load_config(tmp_path / "newsletter.toml")
        _, store, _ = setup(tmp_path, mock, monkeypatch, N)  # readers and the queued series
        store.close()
        store = Store(cfg.db_url)
        run = newsletter_process("run", cwd=tmp_path, POSTMARK_SERVER_TOKEN=KEY)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and run.poll() is None:
                c = _counts(store)
                if c["sent"] == N + 1:
                    break
                time.sleep(0.1)  # polling the ledger for the condition, not a fixed wait
        finally:
            out = stop_process(run)
        assert _counts(store)["sent"] == N + 1, out
        _once_each(mock)
        assert ledger.status(store)[0].status == "active"
        assert "sent by the provider's evidence" in out, out
    finally:
        spoiler.stop()
        mock.stop()


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    yield


def test_a_bounce_rate_over_the_limit_pauses_the_part_and_tells_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendGrid's events for part 1: what each part did is counted once (a retried
    webhook counts nothing twice); bounces over [notify] max_bounce_rate of the part's
    last outcomes pause the series, told to the editor once; `status` shows the counts.
    Another database's delivery ids never count here."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    mock = MockProvider("sendgrid")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, N)
        assert sender.send_due().sent == N + 1
        sign = sendgrid_signer(monkeypatch)
        hook = webhooks.webhook_providers()["sendgrid"]
        seen = mock.received
        events = [{"email": d.to, "event": "delivered", **d.meta} for d in seen[:25]]
        events += [
            {"email": d.to, "event": "bounce", "type": "bounce", **d.meta} for d in seen[25:]
        ]
        stranger = {"batch": "nl-000000000000-" + "0" * 32, "delivery": "1"}
        events.append({"email": "x@example.com", "event": "delivered", **stranger})
        body = json.dumps(events).encode()
        for _ in range(2):  # SendGrid retries: the same events again
            webhooks.receive(store, hook, webhooks.Inbound.of(body, sign(body)), cfg.notify)
        part = ledger.status(store)[0]
        assert (part.counts["delivered"], part.counts["bounced"]) == (25, 6)
        assert part.status == "paused"
        (rate,) = [e for e in store.events(50) if e.kind == "rate"]
        assert "bounced rate is 19.4%" in rate.message and "newsletter resume" in rate.message
        notify = Config(root=tmp_path)
        notify.sender.email = "news@calm.example.org"
        assert "told of 1" in tell_editor(store, notify)
        (mail,) = outbox_messages(notify.outbox_path)
        assert mail["To"] == "news@calm.example.org"
        env = {"NEWSLETTER_DATABASE_URL": cfg.db_url}
        shown = CliRunner(env=env).invoke(cli, ["status"])
        assert "calmer-mornings part 1: 25 delivered, 6 bounced, 0 complained" in " ".join(
            shown.output.split()
        ), shown.output
    finally:
        mock.stop()


def test_ses_events_name_our_messages_by_their_tags() -> None:
    """SES event publishing: ``Send``/``Delivery`` are evidence the message went out,
    ``Reject`` that it did not, a permanent ``Bounce`` counts for the part; the batch's
    global id and the row come from the message tags we set; anything else is not ours."""
    from newsletter.webhooks.ses import ses_sightings

    key = "nl-0123456789ab-" + "f" * 32
    tags = {"batch": [key], "delivery": ["42"], "campaign": ["calmer-mornings"]}

    def record(kind: str, **extra: object) -> dict[str, object]:
        return {"eventType": kind, "mail": {"tags": tags}, **extra}

    assert ses_sightings(record("Send")) == [(key, 42, "sent")]
    assert sorted(ses_sightings(record("Delivery"))) == [(key, 42, "delivered"), (key, 42, "sent")]
    assert ses_sightings(record("Reject")) == [(key, 42, "refused")]
    assert ses_sightings(record("Bounce", bounce={"bounceType": "Permanent"})) == [
        (key, 42, "bounced")
    ]
    assert ses_sightings(record("Bounce", bounce={"bounceType": "Transient"})) == []
    assert ses_sightings({"eventType": "Send", "mail": {"tags": {"batch": ["7"]}}}) == []
    assert ses_sightings({"eventType": "Send"}) == []
