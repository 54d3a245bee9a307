"""kill -9 trials (issue 13): real `newsletter run` processes sending through a
Postmark-speaking server on 127.0.0.1 are killed with SIGKILL at a random moment; then
send-due, reconcile, send-due. Prints lost and doubled counts per configuration.

    python bench/killtrials.py                 # 20 trials x {1, 3 senders} x {sqlite, postgres}
    python bench/killtrials.py --trials 5 --subscribers 2000

PostgreSQL needs $NEWSLETTER_TEST_POSTGRES (an admin URL; a database is made per trial).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.crashtrial import trial  # noqa: E402


def _postgres(admin_url: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"nl_kill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        from newsletter.store import db

        db.dispose_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    admin = os.environ.get("NEWSLETTER_TEST_POSTGRES")
    backends = ["sqlite"] + (["postgres"] if admin else [])
    if not admin:
        print("(no $NEWSLETTER_TEST_POSTGRES: SQLite only)")
    bad = 0
    for backend in backends:
        for senders in (1, 3):
            lost = doubled = unknown = 0
            started = time.monotonic()
            for k in range(args.trials):
                with tempfile.TemporaryDirectory() as tmp:
                    drop: Callable[[], None] | None = None
                    if backend == "sqlite":
                        url = f"sqlite:///{tmp}/newsletter.db"
                    else:
                        assert admin
                        url, drop = _postgres(admin)
                    try:
                        r = trial(
                            Path(tmp) / "w",
                            url,
                            senders,
                            subscribers=args.subscribers,
                            batch_size=args.batch_size,
                            rng=rng,
                        )
                    finally:
                        if drop:
                            drop()
                lost += r.lost
                doubled += r.doubled
                unknown += r.unknown_batches
                if r.lost or r.doubled:
                    print(f"  trial {k}: {r}")
            bad += lost + doubled
            print(
                f"{backend:8} {senders} sender(s): {args.trials} trials, "
                f"{args.subscribers} subscribers each: lost {lost}, doubled {doubled} "
                f"({unknown} unknown batches settled by reconcile) "
                f"in {time.monotonic() - started:.0f}s",
                flush=True,
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
