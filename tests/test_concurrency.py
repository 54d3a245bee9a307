"""Many at once on one database: the subscribe form, the sender and a large import on one
SQLite file (no 500, nothing lost, nothing stops); the form's answer time tells nothing
about an address; confirmation emails go out after the answer, once per address and hour,
and are neither lost nor doubled when the web process dies."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

import newsletter.signup
import newsletter.store.busy
from newsletter.config import load_config
from newsletter.signup import ConfirmationMailer
from newsletter.store import Store, confirmations, utcnow
from newsletter.store.models import Confirmation, Subscriber
from newsletter.store.subscribers import add_subscriber
from newsletter.web.app import create_app
from newsletter.web.site import KEY as SITE_KEY
from newsletter.web.site import Site

from .concurrency import trial
from .helpers import wait_until
from .mock_providers import KEY, MockProvider


def test_form_run_and_a_large_import_share_one_sqlite_file(tmp_path: Path) -> None:
    """The form keeps answering (no 500, nothing lost), `run` keeps sending and stays up,
    and the import completes, all on one SQLite file at once (bench/concurrency.py runs
    this with 300,000 rows and measures the form's p99)."""
    rows = 12_000
    result = trial(tmp_path, rows, posters=3, members=3000, rate=100.0)
    assert result.import_exit == 0, result.import_output
    assert f"{rows} added" in result.import_output, result.import_output
    assert result.bulk_members == rows
    assert result.answers, "no form post was made during the import"
    assert result.statuses == Counter({200: len(result.answers)}), result.summary()
    assert result.lost == []
    assert result.run_alive, result.run_output
    assert result.delivered_during_import > 0, result.summary()
    for log in (result.run_output, result.serve_output, result.import_output):
        assert "Traceback" not in log and "@example" not in log, log


def test_a_database_error_is_one_line_without_the_addresses(tmp_path: Path) -> None:
    """A database locked for longer than the wait: the command says so in one line,
    without the SQL's parameters (the addresses it was writing)."""
    import sqlite3

    from newsletter.store import direct

    db = tmp_path / "newsletter.db"
    (tmp_path / "newsletter.toml").write_text('database_url = "sqlite:///newsletter.db"\n')
    Store(f"sqlite:///{db}").close()
    (tmp_path / "a.csv").write_text("email\nsecret-reader@example.com\n")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    try:
        cmd = [sys.executable, "-c", _SHORT_WAIT, "subscribers", "import", "a.csv"]
        done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    finally:
        holder.rollback()
        holder.close()
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    assert done.returncode == 1, lines
    assert lines == [f"Error: {newsletter.store.busy.BUSY_MESSAGE}"], lines
    assert direct.BUSY_TIMEOUT_MS >= 1000


#: `newsletter` with a short busy wait and no retries (so that the test does not wait long)
_SHORT_WAIT = (
    "import sys, newsletter.store.direct as d, newsletter.store.busy as b;"
    "d.BUSY_TIMEOUT_MS = 200;"
    "import newsletter.store.db as db; db.BUSY_TIMEOUT_MS = 200;"
    "real = b.patient;"
    "b.patient = lambda fn, **kw: real(fn, **{**kw, 'patience': 0.5});"
    "import newsletter.store.bulk as s; s.patient = b.patient;"
    "from newsletter.cli import main; sys.argv[0] = 'newsletter'; main()"
)


# --- the form's answer time ---------------------------------------------------------------


@contextmanager
def _timing_site(root: Path, mock: MockProvider) -> Iterator[tuple[str, Store, Site]]:
    (root / "newsletter.toml").write_text(
        'database_url = "sqlite:///newsletter.db"\n'
        '[sender]\nname = "Dana at Calm Practice"\nemail = "dana@example.com"\n'
        "[web]\ntrusted_proxies = 1\n"
        f'[sending]\nprovider = "postmark"\n[providers.postmark]\nbase_url = "{mock.url}"\n'
        "timeout = 300\n",  # (a request the provider holds waits for the test, not a clock)
        encoding="utf-8",
    )
    cfg = load_config(root / "newsletter.toml")
    store = Store(cfg.db_url)
    with store.begin() as conn:
        store.list_id(conn, "readers", create=True)
    app = create_app(store, cfg)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store, app.extensions[SITE_KEY]
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def _post(base: str, address: str, n: int, **fields: str) -> float:
    """One form post from its own IP address (behind the trusted proxy); its answer time."""
    t0 = time.perf_counter()
    r = requests.post(
        f"{base}/subscribe/readers",
        data={"email": address, **fields},
        headers={"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"},
        timeout=60,
    )
    took = time.perf_counter() - t0
    assert r.status_code == 200 and "check your inbox" in r.text, r.text
    return took


def test_known_pending_and_new_addresses_get_their_answer_in_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer never waits for the provider, so that its time tells nobody whether an
    address is on the list, waiting for its confirmation, or new: with the provider holding
    every request unanswered, all 60 posts are answered (the confirmations go out after the
    answer), and only then does the provider answer (an event, not a timing: a busy machine
    cannot make it pass or fail)."""
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
    mock = MockProvider("postmark")
    held = threading.Event()
    try:
        with _timing_site(tmp_path, mock) as (base, store, _):
            for i in range(20):
                add_subscriber(store, f"known{i}@example.com", list_name="readers")
            for i in range(20):
                _post(base, f"pending{i}@example.com", 100 + i)
            wait_until(lambda: len(mock.received) == 20, "the first confirmations")
            mock.hold = held
            for i in range(20):  # interleaved, as a reader's would be
                for kind in ("known", "pending", "new"):
                    _post(base, f"{kind}{i}@example.com", i * 3 + len(kind))
            # Every answer came while the provider had answered none of the new requests.
            assert len(mock.received) == 20
            wait_until(lambda: mock.inflight > 0, "a confirmation waiting for the provider")
            held.set()
            # And the emails: one for each new address, none for the known, no second
            # one for the pending within the hour.
            wait_until(lambda: len(mock.received) == 40, "the new addresses' confirmations")
            wait_until(lambda: confirmations.waiting(store, utcnow()) == 0, "the queue")
            sent = Counter(mock.addresses())
            assert sent == Counter(
                {f"{k}{i}@example.com": 1 for k in ("pending", "new") for i in range(20)}
            )
    finally:
        held.set()
        mock.stop()


def test_a_pending_address_gets_one_confirmation_an_hour_and_keeps_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
    mock = MockProvider("postmark")
    try:
        with _timing_site(tmp_path, mock) as (base, store, _):
            _post(base, "ann@example.com", 1, first_name="Ann", timezone="Europe/Paris")
            wait_until(lambda: len(mock.received) == 1, "the confirmation")
            # Anyone may type Ann's address: nothing changes, nothing more is sent,
            # with or without a +tag.
            _post(base, "ann@example.com", 2, first_name="Mallory", timezone="Asia/Tokyo")
            _post(base, "Ann+list@example.com", 3, first_name="Mallory")
            wait_until(lambda: confirmations.waiting(store, utcnow()) == 0, "the queue")
            assert mock.addresses() == ["ann@example.com"]
            with store.begin() as conn:
                subs = conn.execute(
                    select(Subscriber.email, Subscriber.first_name, Subscriber.timezone)
                ).all()
            assert [tuple(s) for s in subs] == [("ann@example.com", "Ann", "Europe/Paris")]
            # An hour later she may ask again (her first email lost in a filter).
            later = utcnow() + timedelta(minutes=61)
            monkeypatch.setattr(newsletter.signup, "utcnow", lambda: later)
            _post(base, "ann@example.com", 4)
            wait_until(lambda: len(mock.received) == 2, "the second confirmation")
            assert mock.addresses() == ["ann@example.com", "ann@example.com"]
    finally:
        mock.stop()


# --- a web process that dies ----------------------------------------------------------


def _serve(root: Path, mock: MockProvider) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "newsletter.toml").write_text(
        'database_url = "sqlite:///newsletter.db"\n'
        '[sender]\nname = "Calm Practice"\nemail = "news@calm-practice.org"\n'
        'postal_address = "1 Quiet Lane, Leeds LS1 4AP"\n'
        f'[web]\nbase_url = "https://news.calm-practice.org"\nport = {port}\n'
        f'[sending]\nprovider = "postmark"\n[providers.postmark]\nbase_url = "{mock.url}"\n'
        "timeout = 300\n",  # (a request the provider holds waits for the test, not a clock)
        encoding="utf-8",
    )
    store = Store(load_config(root / "newsletter.toml").db_url)
    with store.begin() as conn:
        store.list_id(conn, "readers", create=True)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["POSTMARK_SERVER_TOKEN"] = KEY
    with (root / "serve.log").open("wb") as log:  # (the process has its own copy)
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "serve"],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).ok
        except requests.RequestException:
            return proc.poll() is not None and False

    wait_until(up, "newsletter serve")
    return proc, base


def test_a_web_process_killed_mid_request_neither_loses_nor_doubles_a_confirmation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsletter serve` is killed (SIGKILL) while one confirmation's request is at the
    provider and another waits in the queue: `send-due` sends the waiting one; the one in
    flight (Postmark has no idempotency key) is never sent again, it becomes unknown once
    its lease is over, and the reader may ask again."""
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    mock = MockProvider("postmark")
    mock.delay, mock.delay_once = 3.0, True  # the first request takes a while to answer
    try:
        serve, base = _serve(tmp_path, mock)
        try:
            _post(base, "first@example.com", 1)
            wait_until(lambda: mock.inflight > 0, "the first request at the provider")
            _post(base, "second@example.com", 2)  # queued behind the first
            os.kill(serve.pid, signal.SIGKILL)
            serve.wait()
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait()
        mock.idle(30)
        assert mock.addresses() == ["first@example.com"]  # it arrived: the kill was after
        cfg = load_config(tmp_path / "newsletter.toml")
        store = Store(cfg.db_url)
        try:
            with store.begin() as conn:
                states = dict(
                    conn.execute(
                        select(Subscriber.email, Confirmation.state).join(
                            Subscriber, Subscriber.id == Confirmation.subscriber_id
                        )
                    ).all()
                )
            assert states == {"first@example.com": "sending", "second@example.com": "queued"}
            mailer = ConfirmationMailer(store, cfg, lambda: _postmark(cfg))
            assert mailer.drain() == 1  # the queued one (what send-due and run do)
            assert sorted(mock.addresses()) == ["first@example.com", "second@example.com"]
            # After the lease, the one in flight is unknown, not sent again.
            later = utcnow() + newsletter.signup.CONFIRM_LEASE + timedelta(minutes=1)
            monkeypatch.setattr(newsletter.signup, "utcnow", lambda: later)
            assert mailer.drain() == 0
            assert Counter(mock.addresses()) == Counter(
                {"first@example.com": 1, "second@example.com": 1}
            )
            with store.begin() as conn:
                state = conn.scalar(
                    select(Confirmation.state)
                    .join(Subscriber, Subscriber.id == Confirmation.subscriber_id)
                    .where(Subscriber.email == "first@example.com")
                )
            assert state == "unknown"
            mailer.close()
        finally:
            store.close()
        log = (tmp_path / "serve.log").read_text(errors="replace")
        assert not re.search(r"first@|second@", log), log
    finally:
        mock.stop()


def _postmark(cfg: object) -> object:
    from newsletter.providers import get_provider

    return get_provider(cfg)  # type: ignore[arg-type]


def test_the_sender_waits_out_a_database_locked_longer_than_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock longer than a connection waits: the send loop
    tries again with backoff and sends everything once the lock is gone, instead of
    stopping with "database is locked"."""
    import logging
    import sqlite3

    import newsletter.store.db as db
    from newsletter.providers import get_provider
    from newsletter.schedule import queue_issue
    from newsletter.sender import Sender

    from .conftest import REPO
    from .helpers import make_config, write_csv

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)  # (so that the test does not wait long)
    cfg = make_config(tmp_path, f"sqlite:///{tmp_path / 'newsletter.db'}")
    store = Store(cfg.db_url)
    rows = [["email"]] + [[f"r{i}@example.com"] for i in range(50)]
    from newsletter.store.subscribers import import_csv

    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="readers")
    queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="readers")
    store.signing_secret()  # (made once, by the first command)
    busy = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "busy" in record.getMessage():
                busy.set()

    seen = Seen(logging.DEBUG)
    logger = logging.getLogger("newsletter")
    logger.addHandler(seen)
    monkeypatch.setattr(logger, "level", logging.DEBUG)
    holder = sqlite3.connect(tmp_path / "newsletter.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # an import's long write, say
    reports: list[object] = []
    failures: list[BaseException] = []

    def send() -> None:
        try:
            reports.append(Sender(store, get_provider(cfg), cfg).send_due())
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    sender = threading.Thread(target=send)
    try:
        sender.start()
        wait_until(lambda: busy.is_set() or not sender.is_alive(), "the sender to wait")
        assert busy.is_set(), failures
    finally:
        holder.rollback()
        holder.close()
        sender.join(120)
        logger.removeHandler(seen)
    assert not failures, failures
    assert reports and reports[0].sent == 50  # type: ignore[attr-defined]
    store.close()


def test_the_form_on_a_database_locked_too_long_is_a_503_without_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past the busy timeout the reader is asked to try again (503, Retry-After), never a
    500, and the log line has neither the SQL's values nor the address."""
    import logging
    import sqlite3

    import newsletter.store.db as db

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)  # (so that the test does not wait long)
    mock = MockProvider("postmark")
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", KEY)
    caplog.set_level(logging.DEBUG)
    try:
        with _timing_site(tmp_path, mock) as (base, _, _):
            holder = sqlite3.connect(tmp_path / "newsletter.db", isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")  # another process's long write
            try:
                page = requests.post(
                    f"{base}/subscribe/readers",
                    data={"email": "locked-out@example.com", "first_name": "Lou"},
                    timeout=60,
                )
                answer = requests.post(
                    f"{base}/subscribe/readers",
                    json={"email": "locked-out@example.com"},
                    timeout=60,
                )
            finally:
                holder.rollback()
                holder.close()
            assert page.status_code == 503 and "Please try again" in page.text
            assert page.headers["Retry-After"] == "5"
            assert answer.status_code == 503 and answer.json()["ok"] is False
            assert "locked-out" not in caplog.text and "Lou" not in caplog.text
            assert "database is busy" in caplog.text
            # Once the lock is gone the same post is answered as usual.
            assert _post(base, "locked-out@example.com", 7) > 0
    finally:
        mock.stop()
