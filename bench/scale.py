"""Bench: N subscribers imported, queued and sent through Postmark's batch API, step by step.

    python bench/scale.py [--n 10000 100000] [--db postgresql://USER:PW@HOST/postgres]
                          [--procs 1] [--naive 2000] [--keep]

The CPU seconds of each step (its own process; all senders together) are printed next to
the wall-clock time: on a shared machine they are the steadier figure.

For each N: a CSV of N subscribers is generated; then each step runs in its own process, so
that its peak memory (max RSS) is its own:

- import: ``import_csv`` of the file into a new list;
- queue: the example issue's three parts queued for the list (part 1 due now);
- send: ``Sender.send_due`` sends part 1 to everyone, with ``--procs`` sender processes at
  once (each its own process; the time is the wall clock until the last one ends);
- naive: the baseline of the same run, on the same database: part 2 sent one request per
  message (``batch_size = 1``) for ``--naive`` messages, then stopped.

The provider is a minimal server speaking Postmark's documented ``POST /email/batch``
contract (token header, at most 500 messages, one answer per message in order) in its own
process on 127.0.0.1. It reads each message's To, Subject and Tag (not the bodies: decoding
10 MB of JSON per request would make the mock, not the sender, what is measured) and counts
each (recipient, part) it accepted, so the run checks that everyone got part 1 exactly once.

With ``--db postgresql://.../postgres`` each size runs in a new database created on that
server (and dropped afterwards unless ``--keep``); by default SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ISSUE = REPO / "issues" / "calmer-mornings.md"
TOKEN = "bench-postmark-token"
LIST = "readers"
ZONES = ["", "America/New_York", "Europe/Paris", "Asia/Tokyo"]
STEPS = ("import", "queue", "send", "naive")


# --- the provider: a fast mock of Postmark's batch API, in its own process ---------------
class PostmarkMock(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    wbufsize = 1 << 16  # one write per answer (no Nagle/delayed-ACK stalls)
    disable_nagle_algorithm = True
    lock = threading.Lock()
    messages = 0
    requests = 0
    #: (recipient, tag) pairs accepted: how many times each
    seen: dict[int, int] = {}
    duplicates = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - the bench asks for the counts
        cls = PostmarkMock
        with cls.lock:
            self._answer(
                200,
                {
                    "messages": cls.messages,
                    "requests": cls.requests,
                    "distinct": len(cls.seen),
                    "duplicates": cls.duplicates,
                },
            )

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/email/batch":
            return self._answer(404, {"ErrorCode": 404, "Message": "not found"})
        if self.headers.get("X-Postmark-Server-Token") != TOKEN:
            return self._answer(401, {"ErrorCode": 10, "Message": "Bad or missing API token"})
        if not (body.startswith(b"[") and body.endswith(b"]")):
            return self._answer(422, {"ErrorCode": 402, "Message": "Invalid JSON"})
        # Each message's To, Subject and Tag, read where they are without decoding the
        # bodies (json.loads of 10 MB costs the mock twice what building it costs the
        # sender); the tests' mock parses everything.
        fields = [dict(_FIELD.findall(m)) for m in body.split(b'{"From": ')[1:]]
        if len(fields) > 500:
            return self._answer(422, {"ErrorCode": 410, "Message": "Too many batch messages"})
        answers = []
        keys = []
        for f in fields:
            to = json.loads(f.get(b"To", b'""'))
            if not f.get(b"Subject") or "@" not in to:
                answers.append({"ErrorCode": 300, "Message": "Invalid email request"})
                continue
            keys.append(hash((to, f.get(b"Tag", b""))))
            answers.append(
                {
                    "To": to,
                    "SubmittedAt": "2026-11-25T10:00:00Z",
                    "MessageID": str(uuid.uuid4()),
                    "ErrorCode": 0,
                    "Message": "OK",
                }
            )
        cls = PostmarkMock
        with cls.lock:
            cls.requests += 1
            cls.messages += len(keys)
            for k in keys:
                n = cls.seen.get(k, 0)
                cls.duplicates += n > 0
                cls.seen[k] = n + 1
        self._answer(200, answers)


#: a message's short string fields ("To", "Subject", "Tag") as JSON strings
_FIELD = re.compile(rb'"(To|Subject|Tag)": ("(?:[^"\\]|\\.)*")')


def serve_mock() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PostmarkMock)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def mock_stats(url: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(url + "/stats") as r:
        stats: dict[str, int] = json.load(r)
        return stats


# --- the steps, each in its own process ----------------------------------------------------
def config(folder: Path, db: str, mock: str, batch_size: int = 500) -> Any:
    from newsletter.config import Config

    cfg = Config(root=folder)
    cfg.database_url = db
    cfg.sender.email = "news@calm.example.org"
    cfg.sender.name = "Calm Mornings"
    cfg.sending.provider = "postmark"
    cfg.sending.batch_size = batch_size
    cfg.providers = {"postmark": {"base_url": mock, "retries": 0}}
    return cfg


def step(name: str, folder: Path, db: str, mock: str, n: int, naive: int) -> dict[str, Any]:
    from newsletter.store import Store

    os.environ["POSTMARK_SERVER_TOKEN"] = TOKEN
    os.environ.pop("NEWSLETTER_DATABASE_URL", None)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    if name == "import":
        from newsletter.store.subscribers import import_csv

        result = import_csv(Store(db), folder / "subscribers.csv", list_name=LIST)
        out["count"] = result.added
    elif name == "queue":
        from newsletter.schedule import queue_issue

        q = queue_issue(
            Store(db), config(folder, db, mock), ISSUE, list_name=LIST, start="now", every="3d"
        )
        out["count"] = q.rows
    elif name == "send":
        from newsletter.providers import get_provider
        from newsletter.sender import Sender

        cfg = config(folder, db, mock)
        report = Sender(Store(db), get_provider(cfg), cfg).send_due()
        out["count"] = report.sent
        out["summary"] = report.summary()
    elif name == "naive":
        from newsletter.providers import get_provider
        from newsletter.sender import Sender
        from newsletter.store import ledger

        cfg = config(folder, db, mock, batch_size=1)
        store = Store(db)
        due = ledger.next_due(store)
        assert due is not None, "nothing left to send for the baseline"
        sender = Sender(store, get_provider(cfg), cfg)

        def enough(report: Any) -> None:
            if report.sent >= naive:
                sender.stop.set()

        sender.progress = enough
        started = time.perf_counter()
        report = sender.send_due(now=due)
        out["count"] = report.sent
    out["seconds"] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["rss_mb"] = usage.ru_maxrss / 1024
    out["cpu"] = usage.ru_utime + usage.ru_stime
    return out


def run_step(name: str, folder: Path, db: str, mock: str, n: int, naive: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--step", name, "--folder", str(folder), "--db", db]
        + ["--mock", mock, "--n", str(n), "--naive", str(naive)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        sys.exit(f"step {name} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_senders(procs: int, folder: Path, db: str, mock: str, n: int, naive: int) -> dict[str, Any]:
    """K sender processes at once: wall clock until the last ends, the largest RSS."""
    cmd = [sys.executable, __file__, "--step", "send", "--folder", str(folder), "--db", db]
    cmd += ["--mock", mock, "--n", str(n), "--naive", str(naive)]
    started = time.perf_counter()
    running = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        for _ in range(procs)
    ]
    results = []
    for p in running:
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            sys.exit(f"a sender failed:\n{stderr}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return {
        "seconds": time.perf_counter() - started,
        "rss_mb": max(r["rss_mb"] for r in results),
        "count": sum(r["count"] for r in results),
        "cpu": sum(r["cpu"] for r in results),
        "each": [r["count"] for r in results],
    }


# --- the databases -------------------------------------------------------------------------
def new_database(server_url: str | None, folder: Path, n: int) -> str:
    if not server_url:
        return f"sqlite:///{folder / 'newsletter.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_scale_{n}_{os.getpid()}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str | None, db: str) -> None:
    if not server_url:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(db).database}"'))
    engine.dispose()


def write_csv(path: Path, n: int) -> None:
    """N readers, at a domain of their own per size: the mock counts a message to an
    address it accepted before (in this run of the bench) as a duplicate."""
    with path.open("w", encoding="utf-8") as f:
        f.write("email,first_name,timezone\n")
        for i in range(n):
            f.write(f"reader{i}@list{n}.example.com,Reader{i},{ZONES[i % 4]}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--db", help="a PostgreSQL server URL (default: SQLite)")
    ap.add_argument("--procs", type=int, default=1, help="sender processes at once")
    ap.add_argument("--naive", type=int, default=2000, help="messages for the baseline")
    ap.add_argument("--keep", action="store_true", help="keep the folders and databases")
    ap.add_argument(
        "--steps", nargs="+", choices=STEPS, default=list(STEPS), help="only these steps"
    )
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--mock", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step == "mock":
        serve_mock()
        return
    if args.step:
        print(json.dumps(step(args.step, args.folder, args.db, args.mock, args.n[0], args.naive)))
        return
    engine = "PostgreSQL" if args.db else "SQLite"
    print(
        f"load average {os.getloadavg()[0]:.1f}; "
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {engine}, {args.procs} sender process(es); Postmark "
        "batch API mock (500 a request) in its own process on 127.0.0.1"
    )
    mock_proc = subprocess.Popen(
        [sys.executable, __file__, "--step", "mock"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert mock_proc.stdout is not None
        mock = mock_proc.stdout.readline().strip()
        print(
            f"{'subscribers':>11} {'step':>7} {'seconds':>8} {'msg/s':>8} {'peak MB':>8} "
            f"{'CPU s':>7}"
        )
        for n in args.n:
            run_size(args, n, mock)
    finally:
        mock_proc.terminate()
        mock_proc.wait()


def run_size(args: argparse.Namespace, n: int, mock: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-scale-{n}-"))
    db = new_database(args.db, folder, n)
    naive = min(args.naive, n)
    try:
        write_csv(folder / "subscribers.csv", n)
        before = mock_stats(mock)
        rates: dict[str, float] = {}
        for name in args.steps:
            if name == "send":
                r = run_senders(args.procs, folder, db, mock, n, naive)
            else:
                r = run_step(name, folder, db, mock, n, naive)
            rate = r["count"] / r["seconds"]
            rates[name] = rate
            extra = f"  ({', '.join(map(str, r['each']))} per sender)" if "each" in r else ""
            print(
                f"{n:>11} {name:>7} {r['seconds']:>8.2f} {rate:>8,.0f} {r['rss_mb']:>8.0f} "
                f"{r['cpu']:>7.1f}{extra}",
                flush=True,
            )
            if name == "send":
                after = mock_stats(mock)
                got = after["messages"] - before["messages"]
                dups = after["duplicates"] - before["duplicates"]
                once = "exactly once" if got == n and dups == 0 and r["count"] == n else "WRONG"
                print(
                    f"{'':>11} part 1: {r['count']} recorded sent, {got} accepted by the "
                    f"mock, {dups} duplicates: {once}"
                )
        if "send" in rates and "naive" in rates:
            ratio = rates["send"] / rates["naive"]
            print(f"{'':>11} batch path {ratio:.1f}x the naive baseline")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
            drop_database(args.db, db)


if __name__ == "__main__":
    main()
