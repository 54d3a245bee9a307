"""Bench: CPU per request of the public archive's index, `GET /archive/`, with 100,000
deliveries sent (issue 20).

    python bench/archive.py [--deliveries 100000] [--requests 100] [--rounds 5]
                            [--db postgresql://USER:PW@HOST/postgres] [--keep]

A list of N subscribers is imported and the example issue queued for it (two parts); part 1
is then marked sent by SQL, one sending time per second over an hour (the counters follow
through the database's triggers, as for a real send). The index is asked ``--requests``
times per round through the WSGI app (Flask's test client: routing, the view, the
templates, the security headers), and the CPU time of this process is measured around
them (``time.process_time``).

Baseline, in the same run and rounds, interleaved: the same app with the archive's read
as it was before issue 20 (``published()`` aggregating the sent rows of the whole
deliveries table: ``MIN(sent_at) ... GROUP BY`` campaign and part). Both must render the
same page, byte for byte. Also measured: a request that holds the page already
(``If-None-Match``: a 304).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ISSUE = ROOT / "issues" / "calmer-mornings.md"

from status_scale import drop_database, new_database  # noqa: E402 - beside this script


def build(folder: Path, db: str, sent: int) -> Any:
    from sqlalchemy import text

    from newsletter.config import Config
    from newsletter.schedule import queue_issue
    from newsletter.store import Store
    from newsletter.store.subscribers import import_csv

    cfg = Config(root=folder)
    cfg.database_url = db
    cfg.sender.name = "Dana at Calm Practice"
    cfg.sender.email = "dana@example.com"
    store = Store(db)
    csv = folder / "subscribers.csv"
    with csv.open("w") as f:
        f.write("email,first_name\n")
        f.writelines(f"reader{i}@example.com,R{i}\n" for i in range(sent))
    t = time.perf_counter()
    import_csv(store, csv, list_name="readers")
    q = queue_issue(store, cfg, ISSUE, list_name="readers", start="now", every="3d")
    print(f"  {sent:,} subscribers, {q.rows:,} deliveries queued: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    start = datetime(2026, 12, 1, 8, 0, 0)
    with store.begin() as conn:
        if store.is_postgres:  # (one statement: row by row takes minutes over the network)
            done = conn.execute(
                text(
                    "UPDATE deliveries SET state = 'sent',"
                    " sent_at = :at + (id % 3600) * interval '1 second' WHERE part = 1"
                ),
                {"at": start},
            ).rowcount
        else:  # (SQLite keeps the text SQLAlchemy writes: the rows bound as it binds them)
            ids = [r[0] for r in conn.execute(text("SELECT id FROM deliveries WHERE part = 1"))]
            conn.execute(
                text("UPDATE deliveries SET state = 'sent', sent_at = :at WHERE id = :id"),
                [{"at": start + timedelta(seconds=i % 3600), "id": i} for i in ids],
            )
            done = len(ids)
    print(f"  part 1 marked sent ({done:,} rows): {time.perf_counter() - t:.1f} s")
    return store, cfg


def old_published(store: Any, now: datetime | None = None) -> list[Any]:
    """``newsletter.archive.published`` before issue 20: the aggregate over the deliveries."""
    from sqlalchemy import func, select

    from newsletter.archive import PublishedPart, PublishedSeries
    from newsletter.store import utcnow
    from newsletter.store.models import Campaign, CampaignPart, Delivery
    from newsletter.store.states import DeliveryState

    now = now or utcnow()
    with store.begin() as conn:
        rows = conn.execute(
            select(
                Campaign.id,
                Campaign.slug,
                Campaign.title,
                Delivery.part,
                func.min(Delivery.sent_at).label("first"),
            )
            .join(Campaign, Campaign.id == Delivery.campaign_id)
            .where(Delivery.state == DeliveryState.SENT, Delivery.sent_at <= now)
            .group_by(Campaign.id, Campaign.slug, Campaign.title, Delivery.part)
            .order_by(Campaign.id)
        ).all()
        subjects = {
            (cid, part): (subject, preheader)
            for cid, part, subject, preheader in conn.execute(
                select(
                    CampaignPart.campaign_id,
                    CampaignPart.part,
                    CampaignPart.subject,
                    CampaignPart.preheader,
                ).where(CampaignPart.campaign_id.in_({r.id for r in rows}))
            )
        }
    by_slug: dict[str, dict[int, Any]] = {}
    titles: dict[str, str] = {}
    for r in rows:
        titles[r.slug] = r.title
        parts = by_slug.setdefault(r.slug, {})
        earlier = parts.get(r.part)
        subject, preheader = subjects[(r.id, r.part)]
        parts[r.part] = PublishedPart(
            r.slug,
            r.part,
            subject,
            preheader,
            min(r.first, earlier.published_at) if earlier else r.first,
            r.id,
        )
    found = [
        PublishedSeries(slug, titles[slug], [parts[k] for k in sorted(parts)])
        for slug, parts in by_slug.items()
    ]
    return sorted(found, key=lambda s: s.updated, reverse=True)


def per_request(client: Any, n: int, headers: dict[str, str] | None = None) -> tuple[Any, ...]:
    """CPU and wall-clock milliseconds per request over ``n`` requests of the index (with
    PostgreSQL the database's own work is another process's CPU: the wall clock shows it)."""
    answer = None
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        answer = client.get("/archive/", headers=headers or {})
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / n, wall * 1000 / n, answer


def write_cost(store: Any, part: int, quarters: int = 4) -> tuple[list[float], list[float]]:
    """What the index of sent rows costs the send loop: part ``part``'s rows recorded sent
    500 at a time with the send loop's own statement (``claims._RECORD``, through the
    driver's ``executemany``), a quarter with the index, a quarter without, in turn. CPU
    milliseconds per 500 rows, with and without."""
    from sqlalchemy import text

    from newsletter.store.claims import _RECORD
    from newsletter.store.driver import datetime_binder, executemany

    with store.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(text("SELECT id FROM deliveries WHERE part = :p"), {"p": part})
        ]
        conn.execute(
            text("UPDATE deliveries SET state = 'sending', batch_id = 7 WHERE part = :p"),
            {"p": part},
        )
    size = len(ids) // quarters
    with_index: list[float] = []
    without: list[float] = []
    at = datetime(2026, 12, 2, 8, 0, 0)
    for q in range(quarters):
        indexed = q % 2 == 0
        with store.begin() as conn:
            conn.execute(text("DROP INDEX IF EXISTS ix_deliveries_sent"))
            if indexed:
                conn.execute(
                    text(
                        "CREATE INDEX ix_deliveries_sent ON deliveries (campaign_id, part,"
                        " sent_at) WHERE state = 'sent'"
                    )
                )
        chunk = ids[q * size : (q + 1) * size]
        cpu = time.process_time()
        for i in range(0, len(chunk), 500):
            with store.begin() as conn:
                when = datetime_binder(conn)
                rows = [
                    {
                        "id": d,
                        "state": "sent",
                        "mid": f"<m{d}@example.com>",
                        "err": None,
                        "sent_at": when(at + timedelta(seconds=i // 500)),
                        "retry_at": None,
                        "refund": 0,
                        "batch": 7,
                    }
                    for d in chunk[i : i + 500]
                ]
                executemany(conn, _RECORD, rows)
        per_batch = (time.process_time() - cpu) * 1000 / max(1, len(chunk) / 500)
        (with_index if indexed else without).append(per_batch)
    with store.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_deliveries_sent"))
        conn.execute(
            text(
                "CREATE INDEX ix_deliveries_sent ON deliveries (campaign_id, part, sent_at)"
                " WHERE state = 'sent'"
            )
        )
    return with_index, without


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deliveries", type=int, default=100_000, help="deliveries sent")
    ap.add_argument("--requests", type=int, default=100, help="requests per round (new read)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--db", help="a PostgreSQL server URL (default: SQLite)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    db, pg_name = new_database(args.db, folder)
    try:
        store, cfg = build(folder, db, args.deliveries)
        import newsletter.archive as archive
        from newsletter.web.app import create_app

        new_published = archive.published
        client = create_app(store, cfg).test_client()
        # the baseline costs ~10x: fewer of its requests, so that a round stays short
        old_n = max(3, args.requests // 10)
        new, old, cached, new_wall, old_wall = [], [], [], [], []
        for _ in range(args.rounds):
            archive.published = new_published
            ms, wall, page = per_request(client, args.requests)
            new.append(ms)
            new_wall.append(wall)
            etag = page.headers["ETag"]
            ms, _, same = per_request(client, args.requests, {"If-None-Match": etag})
            assert same.status_code == 304, same.status_code
            cached.append(ms)
            archive.published = old_published
            ms, wall, before = per_request(client, old_n)
            old.append(ms)
            old_wall.append(wall)
            assert before.data == page.data, "the old and the new read show different pages"
        archive.published = new_published
        assert b"calmer-mornings/1/" in page.data and b"calmer-mornings/2/" not in page.data
        backend = "PostgreSQL" if args.db else "SQLite"
        med_new, med_old = statistics.median(new), statistics.median(old)
        print(
            f"{backend}, {args.deliveries:,} deliveries sent, GET /archive/ CPU per request "
            f"(median of {args.rounds} rounds): {med_new:.2f} ms "
            f"(rounds {min(new):.2f}-{max(new):.2f}, {args.requests} requests each); "
            f"before issue 20 {med_old:.1f} ms ({min(old):.1f}-{max(old):.1f}, {old_n} each): "
            f"{med_old / med_new:.0f}x; with If-None-Match (304) {statistics.median(cached):.2f} ms"
        )
        print(
            f"wall clock per request: {statistics.median(new_wall):.2f} ms, before issue 20 "
            f"{statistics.median(old_wall):.1f} ms"
        )
        if not args.db:  # (PostgreSQL's part of the cost is the server's CPU)
            indexed, bare = write_cost(store, 2)
            print(
                f"the send loop's recording of 500 answers (part 2, {args.deliveries:,} rows, "
                f"CPU): {statistics.mean(indexed):.1f} ms with the index of sent rows, "
                f"{statistics.mean(bare):.1f} ms without (quarters in turn)"
            )
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average "
            + " ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        store.close()
    finally:
        if args.keep:
            print(f"kept: {folder} {db}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if pg_name and args.db:
                drop_database(args.db, pg_name)


if __name__ == "__main__":
    main()
