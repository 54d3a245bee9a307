"""Real sender processes killed with SIGKILL mid-request, then the editor's steps
(send-due, reconcile, send-due): every (subscriber, part) exactly once.

The full series (20 trials each with 1 and 3 senders on SQLite and PostgreSQL) is
bench/killtrials.py; here one trial of each kind keeps the suite fast."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.store import Store

from .crashtrial import _newsletter, shared_database, trial


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
    reconcile, every subscriber got the part exactly once (20,000: bench/multirun.py)."""
    result = shared_database(tmp_path, postgres_url, 5000)
    assert (result.lost, result.doubled, result.delivered) == (0, 0, 5000), result


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
