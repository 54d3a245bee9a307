"""Real sender processes killed with SIGKILL mid-request, then the editor's steps
(send-due, reconcile, send-due): every (subscriber, part) exactly once.

The full series (20 trials each with 1 and 3 senders on SQLite and PostgreSQL) is
bench/killtrials.py; here one trial of each kind keeps the suite fast."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.schedule import queue_issue
from newsletter.store import Store, ledger
from newsletter.store.subscribers import import_csv

from .conftest import REPO
from .crashtrial import _newsletter, _reconcile, _send_due, trial
from .helpers import write_csv
from .mock_providers import MockProvider


@pytest.mark.parametrize("senders", [1, 3])
def test_kill_9_mid_request_then_reconcile(tmp_path: Path, db_url: str, senders: int) -> None:
    result = trial(tmp_path / "w", db_url, senders, subscribers=600, rng=random.Random(senders))
    assert (result.lost, result.doubled) == (0, 0), result
    assert result.delivered == 600


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_two_runs_and_a_send_due_share_one_postgres_database(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two `run` processes and a `send-due` on one database; one `run` is SIGKILLed
    halfway and the other stopped with SIGTERM while sending: after send-due and
    reconcile, every subscriber got the part exactly once."""
    n = 5000
    mock = MockProvider("postmark")
    mock.delay, mock.delay_once = 0.1, False
    try:
        (tmp_path / "newsletter.toml").write_text(
            f'database_url = "{postgres_url}"\n'
            '[sender]\nname = "Calm"\nemail = "news@calm.example.org"\n'
            'postal_address = "1 Quiet Lane, Bristol"\n'
            '[web]\nbase_url = "https://calm.example.org/news"\n'
            '[sending]\nprovider = "postmark"\npoll_seconds = 0.3\n'
            f'[providers.postmark]\nbase_url = "{mock.url}"\n'
        )
        cfg = load_config(tmp_path / "newsletter.toml")
        store = Store(cfg.db_url)
        rows = [["email"]] + [[f"r{i}@example.com"] for i in range(n)]
        import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="readers")
        queue_issue(
            store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="readers", every="30d"
        )
        first, second = _newsletter(tmp_path, "run"), _newsletter(tmp_path, "run")
        cron = _newsletter(tmp_path, "send-due")
        try:
            assert _wait_for(lambda: len(mock.received) >= n // 2, 90), "never got halfway"
            os.kill(first.pid, signal.SIGKILL)
            second.send_signal(signal.SIGTERM)
            out, _ = second.communicate(timeout=30)
            assert second.returncode == 0 and "Stopped cleanly" in out, out
            assert "Traceback" not in out
            cron_out, _ = cron.communicate(timeout=60)
            assert cron.returncode == 0 and "Traceback" not in cron_out, cron_out
        finally:
            for p in (first, second, cron):
                if p.poll() is None:
                    p.kill()
                p.communicate()
        mock.idle()
        _send_due(cfg, store)  # takes over the killed run's batch: unknown
        mock.idle()
        assert not [r for r in _reconcile(store, cfg) if r.problem]
        _send_due(cfg, store)
        times = Counter(mock.addresses())
        assert len(times) == n and set(times.values()) == {1}
        counts = ledger.status(store)[0].counts
        assert counts["sent"] == n and counts["unknown"] == counts["sending"] == 0
        assert {s.command for s in ledger.senders(store)} == {"run", "send-due"}
    finally:
        mock.stop()


def test_a_sender_whose_loop_fails_exits_non_zero(tmp_path: Path) -> None:
    """Never up and silent: the database goes away under `run`, which stops within
    seconds with a one-line error and a non-zero exit, for systemd to restart it."""
    from sqlalchemy import create_engine, text

    (tmp_path / "newsletter.toml").write_text("[sending]\npoll_seconds = 0.3\n")
    cfg = load_config(tmp_path / "newsletter.toml")
    Store(cfg.db_url).close()
    run = _newsletter(tmp_path, "run")
    try:
        time.sleep(1.5)
        engine = create_engine(cfg.db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE senders"))
        engine.dispose()
        started = time.monotonic()
        out, _ = run.communicate(timeout=20)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert time.monotonic() - started < 10
    assert run.returncode == 1, out
    assert "Error: the sender stopped:" in out and "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "senders" in errors[0]
