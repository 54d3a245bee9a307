"""Real sender processes killed with SIGKILL mid-request, then the editor's steps
(send-due, reconcile, send-due): every (subscriber, part) exactly once.

The full series (20 trials each with 1 and 3 senders on SQLite and PostgreSQL) is
bench/killtrials.py; here one trial of each kind keeps the suite fast."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .crashtrial import trial


@pytest.mark.parametrize("senders", [1, 3])
def test_kill_9_mid_request_then_reconcile(tmp_path: Path, db_url: str, senders: int) -> None:
    result = trial(tmp_path / "w", db_url, senders, subscribers=600, rng=random.Random(senders))
    assert (result.lost, result.doubled) == (0, 0), result
    assert result.delivered == 600
