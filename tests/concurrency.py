"""One SQLite file, three processes at once: shared by tests/test_concurrency.py and
bench/concurrency.py.

`newsletter serve` answers the subscribe form (posted over real HTTP by a few threads, each
post from its own address behind the trusted proxy), `newsletter run` sends a queued part
to a list through a Postmark-speaking server on 127.0.0.1 (rate-limited so that it is still
sending when the import runs), and `newsletter subscribers import` adds a large CSV to
another list. Counted: the form's answers (status, time), what `run` delivered while the
import ran, whether `run` is still running when the import is done, and what reached the
database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import func, select

from newsletter.config import load_config
from newsletter.schedule import queue_issue
from newsletter.store import Store
from newsletter.store.models import MailingList, Membership, Subscriber
from newsletter.store.subscribers import import_csv

from .helpers import LIVE_SETTINGS, wait_until, write_csv
from .mock_providers import KEY, Delivered, MockProvider

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Trial:
    imported_rows: int
    import_exit: int
    import_output: str
    import_seconds: float
    #: each form post: (seconds, HTTP status)
    answers: list[tuple[float, int]] = field(default_factory=list)
    #: addresses answered 200 that are not in the database
    lost: list[str] = field(default_factory=list)
    bulk_members: int = 0
    run_alive: bool = False
    run_output: str = ""
    serve_output: str = ""
    #: form posts before the import started (the same posters, nothing else running)
    before: list[tuple[float, int]] = field(default_factory=list)
    #: messages `run` delivered while the import ran, and the longest pause between two
    delivered_during_import: int = 0
    longest_pause: float = 0.0

    @property
    def statuses(self) -> Counter[int]:
        return Counter(status for _, status in self.answers)

    def percentile(self, p: float) -> float:
        times = sorted(t for t, _ in self.answers)
        if not times:
            return 0.0
        return times[min(len(times) - 1, int(p / 100 * len(times)))]

    def summary(self) -> str:
        times = [t for t, _ in self.answers]
        quiet = sorted(t for t, _ in self.before)
        baseline = (
            f"before the import: {len(quiet)} posts, median "
            f"{statistics.median(quiet) * 1000:.0f} ms, p99 "
            f"{quiet[min(len(quiet) - 1, int(0.99 * len(quiet)))] * 1000:.0f} ms; "
            if quiet
            else ""
        )
        return baseline + (
            f"import of {self.imported_rows:,} rows: exit {self.import_exit} in "
            f"{self.import_seconds:.1f} s; {len(self.answers)} form posts "
            f"{dict(self.statuses)}, median {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {self.percentile(99) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
            f"lost {len(self.lost)}; run alive: {self.run_alive}, "
            f"{self.delivered_during_import} delivered during the import, longest pause "
            f"{self.longest_pause:.2f} s"
        )


class _Forgetful(list[Delivered]):
    def append(self, item: Delivered) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process(workdir: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["POSTMARK_SERVER_TOKEN"] = KEY
    with log.open("wb") as out:  # (the process has its own copy)
        return subprocess.Popen(
            [sys.executable, "-m", "newsletter", *args],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _poster(
    base: str,
    n: int,
    stop: threading.Event,
    answers: list[tuple[float, int, str]],
    limit: int = 0,
    prefix: str = "form",
) -> None:
    """Post the form from new addresses until ``stop`` (or ``limit`` posts)."""
    session = requests.Session()
    i = 0
    while not stop.is_set() and not (limit and i >= limit):
        i += 1
        address = f"{prefix}{n}-{i}@example.net"
        net = n + (0 if prefix == "form" else 100)
        headers = {"X-Forwarded-For": f"10.{net}.{i // 250 % 250}.{i % 250 + 1}"}
        t0 = time.perf_counter()
        try:
            r = session.post(
                f"{base}/subscribe/readers",
                data={"email": address, "first_name": f"Form {i}"},
                headers=headers,
                timeout=120,
            )
            status = r.status_code
        except requests.RequestException:
            status = 0
        answers.append((time.perf_counter() - t0, status, address))


def trial(
    workdir: Path,
    rows: int,
    *,
    posters: int = 3,
    members: int = 2000,
    rate: float = 100.0,
    before: int = 0,
) -> Trial:
    """Import ``rows`` addresses while ``posters`` threads post the form and `run` sends a
    part to ``members`` subscribers at ``rate`` messages a second."""
    workdir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the mock's line per request
    mock = MockProvider("postmark")
    mock.keep = False
    mock.received = _Forgetful()  # counted, not kept: a large series would fill memory

    def series() -> int:  # the series' messages (batches of 20); confirmations go one by one
        return sum(n for n in list(mock.batch_sizes) if n > 1)

    port = _free_port()
    (workdir / "newsletter.toml").write_text(
        'database_url = "sqlite:///newsletter.db"\n'
        + LIVE_SETTINGS.replace("[web]\n", f"[web]\nport = {port}\ntrusted_proxies = 1\n")
        + f'[sending]\nprovider = "postmark"\npoll_seconds = 0.5\nbatch_size = 20\n'
        f"rate_limit = {rate}\n"
        f'[providers.postmark]\nbase_url = "{mock.url}"\ntimeout = 30\n'
        "[lists.readers]\ndouble_opt_in = true\n"
    )
    cfg = load_config(workdir / "newsletter.toml")
    store = Store(cfg.db_url)
    seed = [["email", "first name"]] + [[f"m{i}@example.com", f"M{i}"] for i in range(members)]
    import_csv(store, write_csv(workdir / "members.csv", seed), list_name="members")
    with store.begin() as conn:
        store.list_id(conn, "readers", create=True)
    queue_issue(
        store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="members", every="30d"
    )
    bulk = [["email", "first name", "last name"]]
    bulk += [[f"bulk{i}@example.org", f"Bulk{i}", "Reader"] for i in range(rows)]
    big = write_csv(workdir / "bulk.csv", bulk)
    base = f"http://127.0.0.1:{port}"
    serve = _process(workdir, workdir / "serve.log", "serve")
    run = _process(workdir, workdir / "run.log", "run")
    answers: list[tuple[float, int, str]] = []
    quiet: list[tuple[float, int, str]] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    timeline: list[tuple[float, int]] = []
    watching = threading.Event()
    try:
        wait_until(lambda: _up(base), "newsletter serve")
        wait_until(lambda: series() > 0, "newsletter run's first message")
        if before:  # the same posters, before the import
            first = [
                threading.Thread(
                    target=_poster, args=(base, n, stop, quiet, before, "quiet"), daemon=True
                )
                for n in range(posters)
            ]
            for t in first:
                t.start()
            for t in first:
                t.join()
        threads = [
            threading.Thread(target=_poster, args=(base, n, stop, answers), daemon=True)
            for n in range(posters)
        ]
        for t in threads:
            t.start()

        def watch() -> None:
            while not watching.is_set():
                timeline.append((time.monotonic(), series()))
                watching.wait(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.monotonic()
        imp = subprocess.run(
            [
                sys.executable,
                "-m",
                "newsletter",
                "subscribers",
                "import",
                str(big),
                "--list",
                "bulk",
            ],
            cwd=workdir,
            env={k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        finished = time.monotonic()
        watching.set()
        watcher.join()
        stop.set()
        for t in threads:
            t.join(150)
        alive = run.poll() is None
    finally:
        stop.set()
        watching.set()
        _stop(serve)
        _stop(run)
        mock.stop()
    during = [(t, c) for t, c in timeline if started <= t <= finished]
    result = Trial(
        imported_rows=rows,
        import_exit=imp.returncode,
        import_output=(imp.stdout + imp.stderr)[-3000:],
        import_seconds=finished - started,
        answers=[(t, s) for t, s, _ in answers],
        before=[(t, s) for t, s, _ in quiet],
        run_alive=alive,
        run_output=(workdir / "run.log").read_text(errors="replace")[-3000:],
        serve_output=(workdir / "serve.log").read_text(errors="replace")[-3000:],
    )
    if during:
        result.delivered_during_import = during[-1][1] - during[0][1]
        result.longest_pause = _longest_pause(during)
    accepted = {a for _, s, a in answers if s == 200}
    with store.begin() as conn:
        found = set(conn.scalars(select(Subscriber.email).where(Subscriber.email.like("form%"))))
        result.bulk_members = int(
            conn.scalar(
                select(func.count())
                .select_from(Membership)
                .join(MailingList, MailingList.id == Membership.list_id)
                .where(MailingList.name == "bulk")
            )
            or 0
        )
    result.lost = sorted(accepted - found)
    store.close()
    return result


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


def _longest_pause(timeline: list[tuple[float, int]]) -> float:
    """The longest time the delivered count stood still."""
    longest, since, last = 0.0, timeline[0][0], timeline[0][1]
    for t, count in timeline[1:]:
        if count != last:
            longest = max(longest, t - since)
            since, last = t, count
    return max(longest, timeline[-1][0] - since)
