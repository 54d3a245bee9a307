"""Queueing and sending on a controllable clock: the right parts, to the right people,
at the right local hour, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from newsletter.config import Config, load_config
from newsletter.errors import InputError, NewsletterError, StoreError
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue, requeue_issue
from newsletter.sender import Sender
from newsletter.store import Store, ledger
from newsletter.store.models import Delivery, Subscriber
from newsletter.store.subscribers import add_subscriber, import_csv, unsubscribe

from .conftest import ARTICLES, REPO
from .helpers import (
    make_config,
    newsletter_process,
    open_store,
    outbox_messages,
    outbox_pairs,
    stop_process,
    wait_until,
    write_csv,
)

ZONES = [
    None,
    "America/New_York",
    "Europe/Paris",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Kolkata",
]
T0 = datetime(2026, 12, 1, 0, 0)  # naive UTC, the store's convention


def one_reader_series(
    tmp_path: Path, db_url: str | None = None, mode: str = "broadcast", **sending: object
) -> tuple[Config, Store, Sender]:
    """One subscriber on list 'r', the example issue queued at T0, a part a day."""
    cfg = make_config(tmp_path, db_url, **sending)
    store = open_store(cfg)
    add_subscriber(store, "a@example.com", list_name="r")
    queue_issue(
        store,
        cfg,
        REPO / "issues" / "calmer-mornings.md",
        list_name="r",
        start="now",
        every="1d",
        mode=mode,
        now=T0,
    )
    return cfg, store, Sender(store, get_provider(cfg), cfg)


def four_part_issue(tmp_path: Path) -> Path:
    text = (
        (ARTICLES / "very-long.md")
        .read_text()
        .replace("---\n\n", "series:\n  parts: 4\n---\n\n", 1)
    )
    path = tmp_path / "guide.md"
    path.write_text(text)
    return path


def test_sequence_for_1000_subscribers_over_two_weeks(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, batch_size=200)
    store = open_store(cfg)
    rows = [["email", "first_name", "timezone"]]
    for i in range(900):
        rows.append([f"reader{i}@example.com", f"R{i}", ZONES[i % len(ZONES)] or ""])
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="readers")
    issue = four_part_issue(tmp_path)
    q = queue_issue(
        store,
        cfg,
        issue,
        list_name="readers",
        start="2026-12-01T06:00Z",
        every="2d",
        mode="sequence",
        at="09:00",
        now=T0,
    )
    assert q.parts == 4 and q.rows == 900 * 4
    sender = Sender(store, get_provider(cfg), cfg)

    joiners = {
        f"late{i}@example.com": T0 + timedelta(hours=7 + (i * 137) % 140, minutes=i)
        for i in range(100)
    }
    leavers = {
        f"reader{i}@example.com": T0 + timedelta(days=3, hours=i % 24) for i in range(0, 900, 18)
    }
    clock = T0
    end = T0 + timedelta(days=15)
    while clock <= end:
        for addr, when in joiners.items():
            if clock - timedelta(hours=1) < when <= clock:
                n = int(addr[4:].split("@")[0])
                add_subscriber(
                    store,
                    addr,
                    first_name="Late",
                    list_name="readers",
                    timezone=ZONES[n % len(ZONES)],
                    joined_at=when,
                )
        for addr, when in leavers.items():
            if clock - timedelta(hours=1) < when <= clock:
                unsubscribe(store, addr)
        sender.send_due(clock)
        clock += timedelta(hours=1)

    pairs = outbox_pairs(cfg.outbox_path)
    assert max(pairs.values()) == 1, "nobody got a part twice"
    with store.begin() as c:
        subs = {s.id: s for s in c.execute(select(Subscriber)).all()}
        deliveries = c.execute(select(Delivery)).all()
    by_sub: dict[int, dict[int, Delivery]] = {}
    for d in deliveries:
        by_sub.setdefault(d.subscriber_id, {})[d.part] = d
    assert len(subs) == 1000
    for sid, s in subs.items():
        parts = by_sub.get(sid, {})
        tz = ZoneInfo(s.timezone or "UTC")
        sent = {k: d for k, d in parts.items() if d.state == "sent"}
        for k, d in sent.items():
            local = d.sent_at.replace(tzinfo=UTC).astimezone(tz)
            assert local.hour == 9, (s.email, k, local)  # within the hour after 09:00
            assert (s.email, f"guide-part-{k}") in pairs
        if s.email in leavers:
            left = leavers[s.email]
            assert all(d.sent_at <= left for d in sent.values()), s.email
            assert all(d.state == "skipped" for k, d in parts.items() if k not in sent)
            continue
        assert sorted(sent) == [1, 2, 3, 4], (s.email, {k: d.state for k, d in parts.items()})
        times = [sent[k].sent_at for k in (1, 2, 3, 4)]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert all(gap >= timedelta(days=2) - timedelta(hours=1) for gap in gaps)
        if s.email in joiners:
            assert times[0] >= joiners[s.email]
            assert times[0] - joiners[s.email] <= timedelta(days=1, hours=1)
    eligible = 1000 - len(leavers)
    assert sum(1 for (_, tag) in pairs if tag == "guide-part-4") == eligible


def test_broadcast_at_local_hour_and_unsubscribe_between_parts(tmp_path: Path, db_url: str) -> None:
    cfg = make_config(tmp_path, db_url)
    store = open_store(cfg)
    rows = [
        ["email", "timezone"],
        ["ny@example.com", "America/New_York"],
        ["tokyo@example.com", "Asia/Tokyo"],
        ["utc@example.com", ""],
    ]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(
        store,
        cfg,
        REPO / "issues" / "calmer-mornings.md",
        list_name="r",
        start="2026-12-02",
        every="1d",
        at="08:30",
        now=T0,
    )
    with store.begin() as c:
        due = {
            (r.email, r.part): r.due_at
            for r in c.execute(
                select(Subscriber.email, Delivery.part, Delivery.due_at).join(
                    Subscriber, Subscriber.id == Delivery.subscriber_id
                )
            )
        }
    assert due[("ny@example.com", 1)] == datetime(2026, 12, 2, 13, 30)
    assert due[("tokyo@example.com", 1)] == datetime(2026, 12, 1, 23, 30)
    assert due[("utc@example.com", 2)] == datetime(2026, 12, 3, 8, 30)
    sender = Sender(store, get_provider(cfg), cfg)

    def hourly(start: datetime, hours: int) -> int:
        return sum(sender.send_due(start + timedelta(hours=h)).sent for h in range(hours))

    assert hourly(datetime(2026, 12, 1, 20), 19) == 3
    unsubscribe(store, "ny@example.com")
    assert hourly(datetime(2026, 12, 2, 15), 24) == 2
    pairs = outbox_pairs(cfg.outbox_path)
    assert ("ny@example.com", "calmer-mornings-part-2") not in pairs
    status = ledger.status(store, "calmer-mornings")
    assert status[1].counts["skipped"] == 1 and status[1].counts["sent"] == 2


def test_missed_beyond_grace_is_reported_not_dropped(tmp_path: Path, db_url: str) -> None:
    cfg, store, sender = one_reader_series(tmp_path, db_url, grace="2h")
    report = sender.send_due(T0 + timedelta(hours=1))  # within grace: sent late
    assert report.sent == 1
    report = sender.send_due(T0 + timedelta(days=1, hours=5))  # machine was off too long
    assert report.sent == 0 and report.missed == 1
    assert ledger.status(store)[1].counts["missed"] == 1
    assert any("missed the grace window" in e.message for e in store.events())
    assert ledger.send_missed_now(store, "calmer-mornings", T0 + timedelta(days=1, hours=5)) == 1
    assert sender.send_due(T0 + timedelta(days=1, hours=5)).sent == 1


def test_snapshot_protects_queued_series_and_requeue_updates_it(
    tmp_path: Path, db_url: str
) -> None:
    cfg = make_config(tmp_path, db_url)
    store = open_store(cfg)
    add_subscriber(store, "a@example.com", list_name="r")
    issue = tmp_path / "calmer-mornings.md"
    issue.write_text((REPO / "issues" / "calmer-mornings.md").read_text())
    queue_issue(store, cfg, issue, list_name="r", start="now", every="1d", now=T0)
    sender = Sender(store, get_provider(cfg), cfg)
    sender.send_due(T0)
    issue.write_text(
        issue.read_text().replace(
            "Whatever your mornings look like", "EDITED: whatever your mornings look like"
        )
    )
    assert "EDITED" not in ledger.part_snapshot(store, 1, 2).html
    updated, kept = requeue_issue(store, cfg, issue)
    assert (updated, kept) == ([2], [1])
    sender.send_due(T0 + timedelta(days=1))
    last = outbox_messages(cfg.outbox_path)[-1]
    assert "EDITED" in last.get_body(("html",)).get_content()
    assert "EDITED" in last.get_body(("plain",)).get_content()


def test_pause_resume_cancel(tmp_path: Path, db_url: str) -> None:
    cfg, store, sender = one_reader_series(tmp_path, db_url)
    ledger.set_status(store, "calmer-mornings", "paused")
    assert sender.send_due(T0).sent == 0
    ledger.set_status(store, "calmer-mornings", "active")
    assert sender.send_due(T0).sent == 1
    ledger.set_status(store, "calmer-mornings", "cancelled")
    assert sender.send_due(T0 + timedelta(days=2)).sent == 0
    assert ledger.status(store)[1].counts["skipped"] == 1
    with pytest.raises(StoreError, match="no queued series"):
        ledger.set_status(store, "calmer-mornings", "paused")


def test_queue_refuses_bad_requests(tmp_path: Path, db_url: str) -> None:
    cfg = make_config(tmp_path, db_url)
    store = open_store(cfg)
    issue = REPO / "issues" / "calmer-mornings.md"
    with pytest.raises(StoreError, match="unknown list 'nobody'"):
        queue_issue(store, cfg, issue, list_name="nobody", now=T0)
    add_subscriber(store, "a@example.com", list_name="r")
    unsubscribe(store, "a@example.com")
    with pytest.raises(StoreError, match="has nobody to send to"):
        queue_issue(store, cfg, issue, list_name="r", now=T0)
    with pytest.raises(InputError, match="in the past"):
        queue_issue(store, cfg, issue, list_name="r", start="2020-01-01", now=T0)
    with pytest.raises(InputError, match="interval like 3d"):
        queue_issue(store, cfg, issue, list_name="r", every="soon", now=T0)
    with pytest.raises(InputError, match="whole days"):
        queue_issue(store, cfg, issue, list_name="r", every="12h", at="09:00", now=T0)
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n\nText\n")
    with pytest.raises(NewsletterError, match="broken.md"):
        queue_issue(store, cfg, broken, list_name="r", now=T0)
    with store.begin() as c:
        assert c.execute(select(Delivery)).first() is None, "nothing queued by mistake"


def test_queue_writes_ledger_rows_only_and_counts_them(tmp_path: Path, db_url: str) -> None:
    """The ledger is the only queue: no job table, the due times are the rows', and the
    count queue reports is the rows it wrote (PostgreSQL's rowcount for INSERT ... SELECT is
    not a count)."""
    from sqlalchemy import func, inspect

    cfg = make_config(tmp_path, db_url)
    store = open_store(cfg)
    rows = [["email", "timezone"], ["ny@example.com", "America/New_York"], ["utc@example.com", ""]]
    rows += [[f"r{i}@example.com", ""] for i in range(5)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    q = queue_issue(
        store,
        cfg,
        REPO / "issues" / "calmer-mornings.md",
        list_name="r",
        start="2026-12-02",
        every="1d",
        at="08:30",
        now=T0,
    )
    assert "apscheduler_jobs" not in inspect(store.engine).get_table_names()
    with store.begin() as c:
        assert c.scalar(select(func.count()).select_from(Delivery)) == q.rows == 7 * q.parts
        due = sorted(set(c.scalars(select(Delivery.due_at))))
    assert [f"{d:%Y%m%dT%H%M}" for d in due] == [
        "20261202T0830",
        "20261202T1330",
        "20261203T0830",
        "20261203T1330",
    ]


def test_queueing_twice_is_refused_unless_asked(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from newsletter.cli import cli

    cfg = make_config(tmp_path)
    store = open_store(cfg)
    add_subscriber(store, "a@example.com", list_name="r")
    issue = REPO / "issues" / "calmer-mornings.md"
    queue_issue(store, cfg, issue, list_name="r", now=T0)
    with pytest.raises(StoreError, match="already queued for 'r'"):
        queue_issue(store, cfg, issue, list_name="r", now=T0)
    assert queue_issue(store, cfg, issue, list_name="r", now=T0, again=True).rows == 2
    result = CliRunner(env={"NEWSLETTER_DATABASE_URL": cfg.db_url}).invoke(
        cli, ["queue", str(issue), "--list", "r"]
    )
    assert result.exit_code == 1 and "already queued" in result.output
    assert "Traceback" not in result.output


def test_rate_limit_spaces_batches(tmp_path: Path) -> None:
    import threading

    cfg = make_config(tmp_path, rate_limit=40.0, batch_size=10)
    store = open_store(cfg)
    rows = [["email"]] + [[f"p{i}@example.com"] for i in range(30)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", now=T0)
    # A fake clock (as in test_pacing): the sender's waits move it, not the wall clock.
    clock = [1000.0]

    class Waits(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            clock[0] += timeout or 0.0
            return self.is_set()

    sender = Sender(store, get_provider(cfg), cfg, stop=Waits())
    sender.pacer.clock = lambda: clock[0]
    assert sender.send_due(T0).sent == 30
    assert clock[0] - 1000.0 >= 0.45  # 30 messages at 40 a second, 10 at a time


def test_someone_who_joined_while_nothing_was_sending_still_gets_part_1(tmp_path: Path) -> None:
    cfg, store, sender = one_reader_series(tmp_path, mode="sequence", grace="2h")
    assert sender.send_due(T0).sent == 1
    # The machine is off for two days; someone joins in the middle of it.
    add_subscriber(store, "late@example.com", list_name="r", joined_at=T0 + timedelta(days=1))
    report = sender.send_due(T0 + timedelta(days=2))
    pairs = outbox_pairs(cfg.outbox_path)
    assert ("late@example.com", "calmer-mornings-part-1") in pairs
    assert (
        report.missed == 1
    )  # the first reader's part 2 was due a day ago: reported, not sent late


def test_a_long_run_of_unsubscribed_rows_does_not_stop_sending(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, batch_size=5)
    store = open_store(cfg)
    rows = [["email"]] + [[f"p{i:02d}@example.com"] for i in range(50)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", now=T0)
    for i in range(30):  # bounced since queueing: the first six batches skip everyone
        store.suppress(f"p{i:02d}@example.com", "bounced", source="test")
    report = Sender(store, get_provider(cfg), cfg).send_due(T0)
    assert report.sent == 20
    assert ledger.status(store)[0].counts["skipped"] == 30


def test_run_wakes_at_the_ledgers_next_due_time(tmp_path: Path) -> None:
    """`run` keeps its scheduler in memory and wakes when the ledger says the next message
    is due (part 2, four seconds after part 1), not only at its poll (an hour here, so
    that waiting generously for part 2 cannot be mistaken for the poll on a busy machine)."""

    (tmp_path / "newsletter.toml").write_text("[sending]\npoll_seconds = 3600\n")
    cfg = load_config(tmp_path / "newsletter.toml")
    store = open_store(cfg)
    rows = [["email"]] + [[f"r{i}@example.com"] for i in range(5)]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", every="4s")
    run = newsletter_process("run", cwd=tmp_path)
    try:
        wait_until(
            lambda: [p.counts["sent"] for p in ledger.status(store)] == [5, 5],
            "part 2 to wake it",
            timeout=600,
        )
    finally:
        out = stop_process(run)
    assert run.returncode == 0 and "Stopped cleanly" in out and "Traceback" not in out
    assert len(outbox_pairs(cfg.outbox_path)) == 10
