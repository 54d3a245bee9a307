"""Bench: `newsletter status` over a ledger of 1,000,000 deliveries (issue 23).

    python bench/status_scale.py [--deliveries 1000000] [--db postgresql://USER:PW@HOST/postgres]
                                 [--runs 10] [--keep]

A list of deliveries/2 subscribers is imported and the example issue queued for it;
part 1 is then marked sent and part 2 partly failed, bounced and delivered by SQL (the
counters follow through the database's triggers, as for a real send). Then `newsletter
status` runs ``--runs`` times as its own process: the median and the worst wall-clock time
are printed, and the time of the status read alone (``Report.parts``) in this process.

The counts come from ``part_counts`` (counters kept in each change's transaction), not from
a pass over the deliveries; the next due time per part reads the scheduled rows through the
(state, due_at) index.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ISSUE = ROOT / "issues" / "calmer-mornings.md"


def new_database(server: str | None, folder: Path) -> tuple[str, str | None]:
    if not server:
        return f"sqlite:///{folder / 'newsletter.db'}", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"nl_status_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False), name


def drop_database(server: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def build(folder: Path, db: str, deliveries: int) -> int:
    from sqlalchemy import text

    from newsletter.config import Config
    from newsletter.schedule import queue_issue
    from newsletter.store import Store
    from newsletter.store.subscribers import import_csv

    cfg = Config(root=folder)
    cfg.database_url = db
    store = Store(db)
    parts = 2  # the example issue makes two parts
    n = -(-deliveries // parts)
    csv = folder / "subscribers.csv"
    with csv.open("w") as f:
        f.write("email,first_name\n")
        f.writelines(f"reader{i}@example.com,R{i}\n" for i in range(n))
    t = time.perf_counter()
    import_csv(store, csv, list_name="readers")
    q = queue_issue(store, cfg, ISSUE, list_name="readers", start="now", every="3d")
    print(
        f"  {n:,} subscribers imported, {q.rows:,} deliveries queued: "
        f"{time.perf_counter() - t:.1f} s",
        flush=True,
    )
    t = time.perf_counter()
    with store.begin() as conn:
        conn.execute(text("UPDATE deliveries SET state = 'sent' WHERE part = 1"))
        conn.execute(text("UPDATE deliveries SET state = 'failed' WHERE part = 2 AND id % 50 = 0"))
        conn.execute(
            text(
                "UPDATE part_counts SET delivered = sent - 10, bounced = 7, complained = 3"
                " WHERE part = 1"
            )
        )
    print(f"  part 1 marked sent, part 2 partly failed: {time.perf_counter() - t:.1f} s")
    store.close()
    return q.rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deliveries", type=int, default=1_000_000)
    ap.add_argument("--db", help="a PostgreSQL server URL (default: SQLite)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-status-"))
    db, pg_name = new_database(args.db, folder)
    try:
        rows = build(folder, db, args.deliveries)
        (folder / "newsletter.toml").write_text(f'database_url = "{db}"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
        # the baseline, interleaved: `status` in a workspace with a series of 2 parts queued
        # to 2 readers (the interpreter, the imports, the configuration: what is not the
        # ledger's size)
        small = folder / "small"
        small.mkdir()
        build(small, f"sqlite:///{small / 'newsletter.db'}", 4)
        (small / "newsletter.toml").write_text('database_url = "sqlite:///newsletter.db"\n')
        times, base = [], []
        for _ in range(args.runs):
            for where, into in ((folder, times), (small, base)):
                t = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, "-m", "newsletter", "status"],
                    cwd=where,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                into.append(time.perf_counter() - t)
        assert "calmer-mornings" in out.stdout, out.stdout
        out = subprocess.run(
            [sys.executable, "-m", "newsletter", "status"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        from newsletter.store.direct import open_current
        from newsletter.store.report import Report

        reads = []
        for _ in range(args.runs):
            direct = open_current(db)
            assert direct is not None
            t = time.perf_counter()
            parts = Report(direct).parts()
            reads.append(time.perf_counter() - t)
            direct.conn.close()
        assert sum(sum(p.counts[s] for s in ("scheduled", "sent", "failed")) for p in parts) == rows
        backend = "PostgreSQL" if args.db else "SQLite"
        print(
            f"{backend}, {rows:,} deliveries: `newsletter status` median "
            f"{statistics.median(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms "
            f"({args.runs} runs); with 4 deliveries (the same runs, interleaved) median "
            f"{statistics.median(base) * 1000:.0f} ms; the status read alone median "
            f"{statistics.median(reads) * 1000:.1f} ms; load average {os.getloadavg()[0]:.1f}"
        )
        print(out.stdout.splitlines()[-1] if out.stdout else "")
    finally:
        if args.keep:
            print(f"kept: {folder} {db}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if pg_name and args.db:
                drop_database(args.db, pg_name)


if __name__ == "__main__":
    main()
