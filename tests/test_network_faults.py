"""Exactly once when the network fails: real HTTP servers on 127.0.0.1 that accept a
batch and then spoil the answer (the connection drops, a proxy's 502, no answer, an answer
that cannot be read or never ends). Whatever happens, nobody gets a part twice, and after
settling from the provider's log nobody is left out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import Config
from newsletter.providers import get_provider
from newsletter.reconcile import reconcile
from newsletter.sender import Sender
from newsletter.store import Store, ledger, utcnow

from .mock_providers import FaultyFront, MockProvider
from .test_providers import setup

N = 30  # subscribers; setup() adds one more with a hostile name
FAULTS = ["drop", "502", "hang", "nonjson", "short", "drip", "cut"]


@pytest.fixture
def front(request: pytest.FixtureRequest) -> Iterator[tuple[MockProvider, FaultyFront]]:
    name, fault = request.param
    mock = MockProvider(name)
    spoiler = FaultyFront(mock, fault, hang=3.0)
    yield mock, spoiler
    spoiler.stop()
    mock.stop()


def _through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock: MockProvider, url: str, **sending: object
) -> tuple[Config, Store, Sender]:
    cfg, store, _ = setup(tmp_path, mock, monkeypatch, N, **sending)
    cfg.providers[mock.name].update(base_url=url, timeout=1.0, deadline=2.0)
    return cfg, store, Sender(store, get_provider(cfg), cfg)


def _once_each(mock: MockProvider) -> None:
    times = Counter(mock.addresses())
    assert len(times) == N + 1, "nobody left out"
    assert set(times.values()) == {1}, "nobody got it twice"


@pytest.mark.parametrize(
    "front", [("postmark", f) for f in FAULTS], indirect=True, ids=lambda p: "-".join(p)
)
def test_postmark_lost_answer_is_unknown_then_reconciled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, front: tuple[MockProvider, FaultyFront]
) -> None:
    mock, spoiler = front
    cfg, store, sender = _through(tmp_path, monkeypatch, mock, spoiler.url, max_error_rate=1.0)
    report = sender.send_due()
    assert report.unknown == N + 1 and report.sent == 0 and mock.requests == 1
    assert len(mock.received) == N + 1, "the provider did accept the batch"
    (batch,) = ledger.unknown_batches(store)
    assert (batch.size, batch.unknown, batch.provider) == (N + 1, N + 1, "postmark")
    # Never guessed: later runs send nothing of an unknown batch.
    assert sender.send_due(utcnow() + timedelta(hours=1)).sent == 0 and mock.requests == 1
    (settled,) = reconcile(store, cfg)
    assert (settled.sent, settled.resend, settled.problem) == (N + 1, 0, "")
    assert sender.send_due(utcnow() + timedelta(hours=1)).sent == 0
    _once_each(mock)
    counts = ledger.status(store)[0].counts
    assert counts["sent"] == N + 1 and counts["unknown"] == 0


@pytest.mark.parametrize(
    "front", [("resend", f) for f in FAULTS], indirect=True, ids=lambda p: "-".join(p)
)
def test_resend_lost_answer_is_sent_again_under_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, front: tuple[MockProvider, FaultyFront]
) -> None:
    mock, spoiler = front
    cfg, store, sender = _through(tmp_path, monkeypatch, mock, spoiler.url, max_error_rate=1.0)
    sent = 0
    for k in range(3):  # the sender's own retries, then the next runs' recovery
        sent += sender.send_due(utcnow() + timedelta(seconds=k)).sent
    assert sent == N + 1
    _once_each(mock)
    assert len(mock.idempotency) == 1, "one key for the one batch"
    counts = ledger.status(store)[0].counts
    assert counts["sent"] == N + 1 and counts["unknown"] == 0 and counts["sending"] == 0


@pytest.mark.parametrize(
    "front",
    [(p, f) for p in ("sendgrid", "mailgun") for f in ("drop", "502")],
    indirect=True,
    ids=lambda p: "-".join(p),
)
def test_other_providers_lost_answer_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, front: tuple[MockProvider, FaultyFront]
) -> None:
    mock, spoiler = front
    cfg, store, sender = _through(tmp_path, monkeypatch, mock, spoiler.url, max_error_rate=1.0)
    assert sender.send_due().unknown == N + 1 and mock.requests == 1
    assert sender.send_due(utcnow() + timedelta(hours=1)).sent == 0 and mock.requests == 1
    (result,) = reconcile(store, cfg)
    if mock.name == "mailgun":  # its events API is searched by our custom variable
        assert (result.sent, result.resend) == (N + 1, 0)
        _once_each(mock)
    else:
        assert "keeps no log" in result.problem and f"--batch {result.batch_id}" in result.problem
        assert len(ledger.unknown_batches(store)) == 1


@pytest.mark.parametrize("front", [("postmark", "refuse")], indirect=True, ids=["refused"])
def test_connection_refused_is_failed_and_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, front: tuple[MockProvider, FaultyFront]
) -> None:
    mock, spoiler = front
    cfg, store, sender = _through(tmp_path, monkeypatch, mock, spoiler.url, max_error_rate=1.0)
    report = sender.send_due()
    assert report.unknown == 0 and report.retrying == N + 1
    assert ledger.status(store)[0].counts["scheduled"] == N + 1
    assert ledger.unknown_batches(store) == []


def test_reconcile_resends_what_the_log_does_not_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 502 from a proxy that never passed the request on: Postmark's log shows nothing,
    so reconcile schedules the whole batch again."""
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, N, max_error_rate=1.0)
        mock.script = [502]  # answered before the provider handled anything
        assert sender.send_due().unknown == N + 1 and mock.received == []
        (batch,) = ledger.unknown_batches(store)
        env = {"NEWSLETTER_DATABASE_URL": cfg.db_url}
        cfg_file = tmp_path / "newsletter.toml"
        cfg_file.write_text(
            f'[sending]\nprovider = "postmark"\n[providers.postmark]\nbase_url = "{mock.url}"\n'
        )
        args = ["--config", str(cfg_file), "reconcile"]
        early = CliRunner(env=env).invoke(cli, args)
        assert early.exit_code == 1 and "too recent" in early.output, early.output
        done = CliRunner(env=env).invoke(cli, [*args, "--min-age", "0s"])
        assert done.exit_code == 0, done.output
        assert f"batch {batch.id} (calmer-mornings, {N + 1} via postmark): 0 in the" in (
            " ".join(done.output.split())
        )
        assert ledger.unknown_batches(store) == []
        assert sender.send_due().sent == N + 1
        _once_each(mock)
    finally:
        mock.stop()


def test_long_retry_after_reschedules_instead_of_blocking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = MockProvider("postmark")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, N, max_error_rate=1.0)
        mock.script, mock.retry_after = [429], 300
        report = sender.send_due()
        # not waited out: one request, and the rows wait for their time (a sender that
        # slept through the 300 s would have asked again)
        assert mock.requests == 1
        assert report.sent == 0 and report.retrying == N + 1
        assert sender.send_due(utcnow() + timedelta(seconds=200)).sent == 0
        assert sender.send_due(utcnow() + timedelta(seconds=310)).sent == N + 1
        _once_each(mock)
    finally:
        mock.stop()


def test_resend_422_fails_the_request_and_suppresses_no_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resend refuses a whole request with 422 (here a bad sender): nobody is marked
    invalid or suppressed; the rows wait to be tried again."""
    mock = MockProvider("resend")
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, N, max_error_rate=1.0)
        cfg.sender.email = "not-an-address"
        report = sender.send_due()
        assert report.sent == 0 and report.failed == 0 and report.retrying == N + 1
        assert store.suppressions() == [] and mock.received == []
        assert ledger.status(store)[0].counts["scheduled"] == N + 1
        cfg.sender.email = "news@calm.example.org"
        assert sender.send_due(utcnow() + timedelta(minutes=6)).sent == N + 1
        _once_each(mock)
    finally:
        mock.stop()


@pytest.mark.parametrize("name", ["sendgrid", "mailgun"])
def test_default_batch_is_the_providers_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    mock = MockProvider(name, keep=False)
    try:
        cfg, store, sender = setup(tmp_path, mock, monkeypatch, 1199, batch_size=0)
        assert sender.send_due().sent == 1200
        assert mock.requests == 2 and sorted(mock.batch_sizes) == [200, 1000]
    finally:
        mock.stop()


def test_nothing_sent_is_judged_by_type_never_by_message() -> None:
    import http.client

    import requests
    from urllib3.exceptions import (
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ProtocolError,
        ReadTimeoutError,
    )

    from newsletter.providers.http import nothing_sent

    def wrapped(reason: Exception) -> requests.exceptions.ConnectionError:
        return requests.exceptions.ConnectionError(MaxRetryError(None, "/email/batch", reason))  # type: ignore[arg-type]

    # Misleading messages on purpose: only the types count.
    assert nothing_sent(wrapped(NewConnectionError(None, "Read timed out")))  # type: ignore[arg-type]
    assert nothing_sent(wrapped(NameResolutionError("api.example", None, OSError("x"))))  # type: ignore[arg-type]
    assert nothing_sent(requests.exceptions.ConnectTimeout(ConnectTimeoutError("Read timed out")))
    dropped = ProtocolError("Connection refused", http.client.RemoteDisconnected("refused"))
    assert not nothing_sent(requests.exceptions.ConnectionError(dropped))
    assert not nothing_sent(wrapped(ReadTimeoutError(None, "/", "connection refused")))  # type: ignore[arg-type]
    assert not nothing_sent(requests.exceptions.ReadTimeout("Failed to establish a connection"))
    assert not nothing_sent(requests.exceptions.ChunkedEncodingError("refused"))
