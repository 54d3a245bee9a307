"""Real sender processes killed with SIGKILL mid-request, then the editor's steps
(send-due, reconcile, send-due): every (subscriber, part) exactly once.

The full series (20 trials each with 1 and 3 senders on SQLite and PostgreSQL) is
bench/killtrials.py; here one trial of each kind keeps the suite fast."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.schedule import queue_issue
from newsletter.store import Store, ledger
from newsletter.store.subscribers import import_csv

from .conftest import REPO
from .crashtrial import _newsletter, shared_database, trial
from .helpers import write_csv


@pytest.mark.parametrize("senders", [1, 3])
def test_kill_9_mid_request_then_reconcile(tmp_path: Path, db_url: str, senders: int) -> None:
    result = trial(tmp_path / "w", db_url, senders, subscribers=600, rng=random.Random(senders))
    assert (result.lost, result.doubled) == (0, 0), result
    assert result.delivered == 600


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
    assert run.stdout is not None
    try:
        # Waits for the loop to start (its first line), not for a fixed time.
        first = run.stdout.readline()
        assert first.startswith("Sending with"), first
        engine = create_engine(cfg.db_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE senders"))
        engine.dispose()
        # A guard against a hang, not a ceiling: the loop notices at its next heartbeat.
        rest, _ = run.communicate(timeout=120)
        out = first + rest
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 1, out
    assert "Error: the sender stopped:" in out and "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "senders" in errors[0]


def _queued(tmp_path: Path, db_url: str, n: int) -> tuple[Store, int]:
    from newsletter.config import Config

    cfg = Config(root=tmp_path)
    cfg.database_url = db_url
    store = Store(cfg.db_url)
    rows = [["email"]] + [[f"r{i}@example.com"] for i in range(n)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    q = queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", every="30d")
    return store, q.campaign_id


def test_a_claim_takes_one_requests_worth_and_no_more(tmp_path: Path, db_url: str) -> None:
    """On a table the planner has never analysed too: one claim, one batch, ``limit`` rows."""
    from newsletter.store import utcnow

    store, cid = _queued(tmp_path, db_url, 3000)
    claim = ledger.claim(store, cid, 1, utcnow(), 500, ledger.claim_token(), "postmark")
    assert claim.taken == len(claim.rows) == 500
    counts = ledger.status(store)[0].counts
    assert counts["sending"] == 500 and counts["scheduled"] == 2500


def test_only_one_sender_takes_over_a_dead_batch(tmp_path: Path, db_url: str) -> None:
    """Three senders starting at once find the same dead batch: exactly one takes it."""
    import threading

    from newsletter.store import utcnow

    from .test_providers import _token_of_a_dead_process

    store, cid = _queued(tmp_path, db_url, 50)
    dead = _token_of_a_dead_process()
    claim = ledger.claim(store, cid, 1, utcnow(), 50, dead, "outbox")
    assert claim.batch_id is not None
    (orphan,) = ledger.orphaned_batches(store, utcnow())
    assert orphan == (claim.batch_id, dead)
    start = threading.Barrier(3)
    won: list[str] = []

    def take(token: str) -> None:
        start.wait()
        if ledger.take_over(store, claim.batch_id, dead, token):  # type: ignore[arg-type]
            won.append(token)

    threads = [threading.Thread(target=take, args=(f"t{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert ledger.batch_claim(store, claim.batch_id).rows == claim.rows
