"""One SQLite file, three processes (issue 18): `newsletter serve` answering the subscribe
form (posted by a few threads over real HTTP), `newsletter run` sending a part through a
Postmark-speaking server on 127.0.0.1, and `newsletter subscribers import` of a large CSV.
Prints the form's answer times (median, p99, max) before and during the import, what `run`
delivered during it and its longest pause, and the import's time; checks that no answer was
a 5xx, no accepted address was lost, `run` is still running and the import is complete.

    python bench/concurrency.py                     # 300,000 rows
    python bench/concurrency.py --rows 50000 --posters 4
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.concurrency import trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows in the imported CSV")
    parser.add_argument("--posters", type=int, default=3, help="threads posting the form")
    parser.add_argument("--rate", type=float, default=100.0, help="run's messages a second")
    parser.add_argument(
        "--members",
        type=int,
        default=0,
        help="the part's recipients (default: enough to keep run sending through the import)",
    )
    parser.add_argument("--before", type=int, default=20, help="posts per thread before")
    args = parser.parse_args()
    members = args.members or max(3000, int(args.rows / 1000 * args.rate))
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}; {args.rows:,} rows, {args.posters} posters, "
        f"run: {members:,} recipients at {args.rate:g}/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = trial(
            Path(tmp),
            args.rows,
            posters=args.posters,
            members=members,
            rate=args.rate,
            before=args.before,
        )
    print(result.summary())
    problems = []
    if result.import_exit != 0 or result.bulk_members != args.rows:
        problems.append(f"import incomplete: {result.import_output}")
    if any(status != 200 for _, status in result.answers):
        problems.append(f"form answers: {dict(result.statuses)}")
    if result.lost:
        problems.append(f"{len(result.lost)} subscriptions lost")
    if not result.run_alive:
        problems.append(f"run stopped: {result.run_output}")
    print("OK" if not problems else "PROBLEMS:\n" + "\n".join(problems))
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
