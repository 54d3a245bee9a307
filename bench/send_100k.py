"""Bench: import, queue and send N subscribers into the outbox (SQLite), step by step.

Each size runs in its own process so that its peak memory (max RSS) is its own. The
smallest size is the baseline of the same run: if rows are streamed, peak memory stays
about the same while the list grows tenfold.

    python bench/send_100k.py [--sizes 10000 100000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ISSUE = Path(__file__).resolve().parents[1] / "issues" / "calmer-mornings.md"


def child(n: int, folder: Path) -> dict[str, float]:
    from newsletter.config import Config
    from newsletter.providers import get_provider
    from newsletter.schedule import queue_issue
    from newsletter.sender import Sender
    from newsletter.store import Store
    from newsletter.store.subscribers import import_csv

    zones = ["", "America/New_York", "Europe/Paris", "Asia/Tokyo"]
    csv_path = folder / "subscribers.csv"
    with csv_path.open("w", encoding="utf-8") as f:
        f.write("email,first_name,timezone\n")
        for i in range(n):
            f.write(f"reader{i}@example.com,Reader{i},{zones[i % 4]}\n")
    cfg = Config(root=folder)
    cfg.sending.batch_size = 1000
    out: dict[str, float] = {}
    t = time.perf_counter()
    store = Store(cfg.db_url)
    result = import_csv(store, csv_path, list_name="readers")
    out["import_s"] = time.perf_counter() - t
    out["rss_after_import_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.added == n, result
    t = time.perf_counter()
    q = queue_issue(store, cfg, ISSUE, list_name="readers", start="now", every="3d")
    out["queue_s"] = time.perf_counter() - t
    out["rss_after_queue_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    report = Sender(store, get_provider(cfg), cfg).send_due()
    out["send_s"] = time.perf_counter() - t
    assert report.sent == n, report.summary()
    out["rows"] = q.rows
    out["sent"] = report.sent
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--keep", action="store_true", help="keep the folders (and .eml files)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder)))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite, outbox provider"
    )
    print(
        f"{'subscribers':>11} {'import s':>9} {'queue s':>8} {'send s':>8} {'msg/s':>8} "
        f"{'peak MB':>8}"
    )
    results = {}
    for n in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-{n}-"))
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--folder", str(folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        results[n] = r
        print(
            f"{n:>11} {r['import_s']:>9.2f} {r['queue_s']:>8.2f} {r['send_s']:>8.2f} "
            f"{n / r['send_s']:>8.0f} {r['maxrss_mb']:>8.0f}"
        )
        if not args.keep:
            shutil.rmtree(folder)
    small, large = min(results), max(results)
    if small != large:
        print(
            f"list {large / small:.0f}x larger: peak memory x"
            f"{results[large]['maxrss_mb'] / results[small]['maxrss_mb']:.2f}, send time x"
            f"{results[large]['send_s'] / results[small]['send_s']:.1f}"
        )


if __name__ == "__main__":
    main()
