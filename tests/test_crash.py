"""A real `newsletter run` killed with SIGKILL mid-send, then started again: every
(subscriber, part) is in the outbox exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsletter.config import load_config
from newsletter.schedule import queue_issue
from newsletter.store import Store, ledger
from newsletter.store.subscribers import import_csv

from .conftest import REPO
from .helpers import outbox_pairs, write_csv

N = 1500


def _start(workdir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "run"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sigkill_mid_send_then_restart_sends_each_message_once(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text(
        "[sending]\npoll_seconds = 0.2\nbatch_size = 25\nrate_limit = 700.0\n"
    )
    cfg = load_config(tmp_path / "newsletter.toml")
    store = Store(cfg.db_url)
    rows = [["email", "first name"]] + [[f"r{i}@example.com", f"R{i}"] for i in range(N)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="readers")
    queue_issue(
        store,
        cfg,
        REPO / "issues" / "calmer-mornings.md",
        list_name="readers",
        start="now",
        every="1d",
    )
    outbox = cfg.outbox_path

    def files() -> int:
        return len(list(outbox.glob("*.eml"))) if outbox.exists() else 0

    first = _start(tmp_path)
    try:
        assert _wait_for(lambda: files() >= 300, 30), "the sender never started"
        os.kill(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    killed_at = files()
    assert killed_at < N, "killed mid-send"

    second = _start(tmp_path)
    try:

        def done() -> bool:
            counts = ledger.status(store)[0].counts
            return counts["sent"] == N

        assert _wait_for(done, 60), ledger.status(store)[0].counts
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=20)
    finally:
        if second.poll() is None:
            second.kill()
            second.communicate()
    assert second.returncode == 0, output
    assert "Stopped cleanly" in output and "Traceback" not in output

    pairs = outbox_pairs(outbox)
    assert len(pairs) == N and set(pairs.values()) == {1}
    assert files() == N
    counts = ledger.status(store)[0].counts
    assert counts["sent"] == N and counts["sending"] == 0 and counts["unknown"] == 0
