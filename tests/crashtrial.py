"""One kill -9 trial, shared by tests/test_crash.py and bench/killtrials.py.

Real `newsletter run` processes send one part to a list through a Postmark-speaking server
on 127.0.0.1 (each request takes a moment, so that kills land mid-request); at a random
moment they are all killed with SIGKILL. Then, as an editor would (in this process, to
keep it fast on a busy machine): send-due (takes over the dead senders' batches: unknown),
reconcile (settles them from the server's message log), send-due again. Counted from
what the server accepted: lost (never delivered) and doubled (delivered more than once).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from newsletter.config import Config, load_config
from newsletter.providers import get_provider
from newsletter.reconcile import Reconciled, reconcile
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store, ledger
from newsletter.store.subscribers import import_csv

from .helpers import LIVE_SETTINGS, newsletter_process, write_csv
from .mock_providers import KEY, MockProvider

REPO = Path(__file__).resolve().parent.parent


@dataclass
class TrialResult:
    subscribers: int
    delivered: int
    lost: int
    doubled: int
    unknown_batches: int
    #: seconds until the first request reached the server, then until the kill
    started_after: float
    killed_after: float


def _newsletter(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return newsletter_process(*args, cwd=workdir, POSTMARK_SERVER_TOKEN=KEY)


@contextmanager
def _api_key() -> Iterator[None]:
    before = os.environ.get("POSTMARK_SERVER_TOKEN")
    os.environ["POSTMARK_SERVER_TOKEN"] = KEY
    try:
        yield
    finally:
        if before is None:
            del os.environ["POSTMARK_SERVER_TOKEN"]
        else:
            os.environ["POSTMARK_SERVER_TOKEN"] = before


def _send_due(cfg: Config, store: Store) -> None:
    with _api_key():
        provider = get_provider(cfg)
    try:
        Sender(store, provider, cfg).send_due()
    finally:
        provider.close()


def _reconcile(store: Store, cfg: Config) -> list[Reconciled]:
    with _api_key():
        return reconcile(store, cfg)


def _configure(workdir: Path, db_url: str, mock: MockProvider, batch_size: int = 0) -> None:
    """A workspace ready to go live (public https base URL, own sender): `run` and
    `send-due` refuse anything less for a real provider."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "newsletter.toml").write_text(
        f'database_url = "{db_url}"\n'
        + LIVE_SETTINGS
        + f'[sending]\nprovider = "postmark"\npoll_seconds = 0.3\nbatch_size = {batch_size}\n'
        f'[providers.postmark]\nbase_url = "{mock.url}"\ntimeout = 5\n'
    )


def _started(procs: list[subprocess.Popen[str]], mock: MockProvider, timeout: float) -> None:
    """Wait until the senders' first request reaches the server; fail with what they said
    if they stopped before (a trial where the senders never sent would prove nothing)."""
    deadline = time.monotonic() + timeout
    while not mock.received:
        if time.monotonic() > deadline or all(p.poll() is not None for p in procs):
            outs = []
            for p in procs:
                if p.poll() is None:
                    p.kill()
                outs.append(p.communicate()[0])
            raise AssertionError(f"the senders never sent: {outs}")
        time.sleep(0.02)


def trial(
    workdir: Path,
    db_url: str,
    senders: int,
    subscribers: int = 1200,
    batch_size: int = 100,
    rng: random.Random | None = None,
) -> TrialResult:
    rng = rng or random.Random()
    mock = MockProvider("postmark")
    mock.delay, mock.delay_once = 0.12, False
    try:
        _configure(workdir, db_url, mock, batch_size)
        cfg = load_config(workdir / "newsletter.toml")
        store = Store(cfg.db_url)
        rows = [["email", "first name"]]
        rows += [[f"r{i}@example.com", f"R{i}"] for i in range(subscribers)]
        import_csv(store, write_csv(workdir / "s.csv", rows), list_name="readers")
        queue_issue(
            store,
            cfg,
            REPO / "issues" / "calmer-mornings.md",
            list_name="readers",
            start="now",
            every="30d",
        )
        t0 = time.monotonic()
        procs = [_newsletter(workdir, "run") for _ in range(senders)]
        try:
            _started(procs, mock, 60)
            # The kill comes after a random share of the messages reached the server (with
            # requests in flight: each one waits mock.delay), counted, not timed, so that a
            # busy machine moves when it happens, not what it hits.
            target = rng.randint(1, max(1, int(0.8 * subscribers)))
            started = time.monotonic() - t0
            assert _wait_for(lambda: len(mock.received) >= target, 120), "the senders stalled"
            wait = time.monotonic() - t0 - started
            for p in procs:
                os.kill(p.pid, signal.SIGKILL)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.communicate(timeout=30)
        mock.idle()
        _send_due(cfg, store)  # takes over the dead batches, sends the rest
        unknown = len(ledger.unknown_batches(store))
        mock.idle()
        problems = [r for r in _reconcile(store, cfg) if r.problem]
        assert not problems, problems
        _send_due(cfg, store)  # what the log did not show
        times = Counter(mock.addresses())
        expected = {f"r{i}@example.com" for i in range(subscribers)}
        store.close()
        return TrialResult(
            subscribers,
            sum(times.values()),
            len(expected - set(times)),
            sum(n - 1 for n in times.values() if n > 1),
            unknown,
            started,
            wait,
        )
    finally:
        mock.stop()


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def shared_database(workdir: Path, db_url: str, n: int) -> TrialResult:
    """Two `run` processes and a `send-due` on one database; one `run` is SIGKILLed
    halfway and the other stopped with SIGTERM while sending; then send-due, reconcile,
    send-due."""
    mock = MockProvider("postmark")
    mock.delay, mock.delay_once = 0.1, False
    try:
        _configure(workdir, db_url, mock)
        cfg = load_config(workdir / "newsletter.toml")
        store = Store(cfg.db_url)
        rows = [["email"]] + [[f"r{i}@example.com"] for i in range(n)]
        import_csv(store, write_csv(workdir / "s.csv", rows), list_name="readers")
        queue_issue(
            store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="readers", every="30d"
        )
        t0 = time.monotonic()
        first, second = _newsletter(workdir, "run"), _newsletter(workdir, "run")
        cron = _newsletter(workdir, "send-due")
        try:
            _started([first, second, cron], mock, 60)
            assert _wait_for(lambda: len(mock.received) >= n // 2, 120), "never got halfway"
            halfway = time.monotonic() - t0
            os.kill(first.pid, signal.SIGKILL)
            second.send_signal(signal.SIGTERM)
            out, _ = second.communicate(timeout=60)
            assert second.returncode == 0 and "Stopped cleanly" in out, out
            assert "Traceback" not in out
            cron_out, _ = cron.communicate(timeout=120)
            assert cron.returncode == 0 and "Traceback" not in cron_out, cron_out
        finally:
            for p in (first, second, cron):
                if p.poll() is None:
                    p.kill()
                p.communicate()
        mock.idle()
        _send_due(cfg, store)  # takes over the killed run's batch: unknown
        unknown = len(ledger.unknown_batches(store))
        mock.idle()
        problems = [r for r in _reconcile(store, cfg) if r.problem]
        assert not problems, problems
        _send_due(cfg, store)
        counts = ledger.status(store)[0].counts
        assert counts["unknown"] == counts["sending"] == 0, counts
        assert {s.command for s in ledger.senders(store)} == {"run", "send-due"}
        store.close()
        times = Counter(mock.addresses())
        expected = {f"r{i}@example.com" for i in range(n)}
        return TrialResult(
            n,
            sum(times.values()),
            len(expected - set(times)),
            sum(k - 1 for k in times.values() if k > 1),
            unknown,
            0.0,
            halfway,
        )
    finally:
        mock.stop()
