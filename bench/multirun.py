"""Two `newsletter run` processes and a `send-due` on one PostgreSQL database (issue 13):
one run SIGKILLed halfway, the other stopped with SIGTERM mid-send; then send-due,
reconcile, send-due. Prints lost and doubled (subscriber, part) pairs.

    NEWSLETTER_TEST_POSTGRES=postgresql://... python bench/multirun.py --subscribers 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.killtrials import _postgres  # noqa: E402
from tests.crashtrial import shared_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=20000)
    args = parser.parse_args()
    admin = os.environ.get("NEWSLETTER_TEST_POSTGRES")
    if not admin:
        print("set NEWSLETTER_TEST_POSTGRES to a PostgreSQL admin URL", file=sys.stderr)
        return 2
    url, drop = _postgres(admin)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            r = shared_database(Path(tmp), url, args.subscribers)
    finally:
        drop()
    print(
        f"{args.subscribers} subscribers, 2 run + 1 send-due on PostgreSQL, one run killed "
        f"at {r.killed_after:.1f}s: delivered {r.delivered}, lost {r.lost}, doubled "
        f"{r.doubled} ({r.unknown_batches} unknown batch(es) settled by reconcile) in "
        f"{time.monotonic() - started:.0f}s"
    )
    return 1 if r.lost or r.doubled else 0


if __name__ == "__main__":
    sys.exit(main())
