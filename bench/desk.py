"""Bench: the editor's desk with N subscribers and S queued series, page by page.

    python bench/desk.py [--n 100000] [--series 20] [--rounds 20]

A workspace is made in a temporary folder (SQLite): N subscribers imported into one list,
the example issue queued S times (as S series of two parts, sequence mode, so N x 2 x S
delivery rows), the first series' part 1 marked sent for everyone. Then each desk page is
asked for ``--rounds`` times through the WSGI app in this process (signed in, as a browser
would be) and its median and 95th percentile printed, wall clock and CPU.

The baseline of the same run is the desk's stylesheet (the same app, sign-in check and
headers, no database read): what every page costs before it reads anything.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsletter.config import load_config  # noqa: E402
from newsletter.desk import create_desk  # noqa: E402
from newsletter.schedule import queue_issue  # noqa: E402
from newsletter.store import Store  # noqa: E402
from newsletter.store.subscribers import import_csv  # noqa: E402

ISSUE = REPO / "issues" / "calmer-mornings.md"


def _workspace(folder: Path, n: int, series: int) -> tuple[Store, object]:
    (folder / "issues").mkdir()
    (folder / "newsletter.toml").write_text(
        '[sender]\nname = "Bench"\nemail = "bench@example.com"\n'
        'postal_address = "1 Bench Street"\n',
        encoding="utf-8",
    )
    config = load_config(folder / "newsletter.toml")
    store = Store(config.db_url)
    people = folder / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["email", "first_name"])
        for i in range(n):
            w.writerow([f"reader{i}@example.com", f"Reader{i}"])
    started = time.perf_counter()
    import_csv(store, people, list_name="readers")
    print(f"setup: {n:,} subscribers imported in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for k in range(series):
        issue = folder / "issues" / f"series-{k + 1:02d}.md"
        shutil.copy(ISSUE, issue)
        queue_issue(
            store, config, issue, list_name="readers", mode="sequence", every="3d", start="now"
        )
    print(f"setup: {series} series queued in {time.perf_counter() - started:.1f} s")
    with store.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(
            text(
                "UPDATE deliveries SET state = 'sent', sent_at = due_at "
                "WHERE campaign_id = (SELECT min(id) FROM campaigns) AND part = 1"
            )
        )
    return store, config


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--series", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
        folder = Path(tmp)
        store, config = _workspace(folder, args.n, args.series)
        os.chdir(folder)
        app, token = create_desk(store, config)  # type: ignore[arg-type]
        client = app.test_client()
        assert client.get(f"/desk/login?token={token}").status_code == 302
        pages = {
            "baseline: desk.css": "/desk/desk.css",
            "home": "/desk/",
            "series page": "/desk/series/series-01",
            "series CSV": "/desk/series/series-01.csv",
            "subscribers": "/desk/subscribers",
            "subscriber search": "/desk/subscribers?q=reader9999",
            "a reader's page": "/desk/reader?email=reader9999@example.com",
            "issue page (render)": "/desk/issues/series-02",
            "part preview": "/desk/issues/series-02/parts/1/preview",
            "feeds": "/desk/feeds",
            "settings": "/desk/settings",
        }
        print(f"{'page':<22} {'median ms':>10} {'p95 ms':>8} {'CPU p95 ms':>11}")
        for name, path in pages.items():
            walls, cpus = [], []
            for _ in range(args.rounds):
                w0, c0 = time.perf_counter(), time.process_time()
                answer = client.get(path)
                walls.append((time.perf_counter() - w0) * 1000)
                cpus.append((time.process_time() - c0) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            p95 = statistics.quantiles(walls, n=20)[-1]
            cpu95 = statistics.quantiles(cpus, n=20)[-1]
            print(f"{name:<22} {statistics.median(walls):>10.1f} {p95:>8.1f} {cpu95:>11.1f}")
        home = client.get("/desk/").get_data(as_text=True)
        assert len(re.findall(r"/desk/series/series-", home)) >= args.series
        store.close()


if __name__ == "__main__":
    main()
