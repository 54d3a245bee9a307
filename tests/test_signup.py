"""Readers join on their own: the subscribe form, double opt-in, the consent record, the
preferences page and the public archive, over real HTTP on 127.0.0.1 with the outbox."""

from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import itsdangerous.timed
import pytest
import requests
from click.testing import CliRunner, Result
from sqlalchemy import select
from werkzeug.serving import make_server

from newsletter.archive import Archive
from newsletter.cli import cli
from newsletter.config import Config, load_config
from newsletter.errors import ConfigError
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.signing import Signer
from newsletter.store import Store, confirmations, utcnow
from newsletter.store.models import Confirmation, Delivery, Membership, Subscriber
from newsletter.store.subscribers import (
    add_subscriber,
    iter_subscribers,
    token_key,
    unsubscribe,
)
from newsletter.web.app import create_app

from .conftest import REPO
from .helpers import newsletter_process, outbox_messages, stop_process, wait_until
from .mock_providers import AKID, KEY, MockProvider
from .test_providers import ENV, PROVIDERS

CONSENT = "I agree to get the series by email; I can unsubscribe at any time."
ISSUE = REPO / "issues" / "calmer-mornings.md"
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Site:
    base: str
    store: Store
    config: Config
    root: Path

    def post(self, list_name: str = "readers", **fields: str) -> requests.Response:
        headers = {"User-Agent": "Mozilla/5.0 (test)", "Referer": "https://blog.example.com/guilt"}
        answer = requests.post(
            f"{self.base}/subscribe/{list_name}", data=fields, headers=headers, timeout=10
        )
        self.mailed()
        return answer

    def mailed(self) -> None:
        """Wait until the confirmation emails queued by the answers are sent (the server's
        mailer thread sends them after answering)."""
        wait_until(lambda: confirmations.waiting(self.store, utcnow()) == 0, "the confirmations")

    def confirmations(self) -> dict[str, str]:
        """Address -> the confirmation link in its email (text and HTML agree)."""
        links = {}
        for msg in outbox_messages(self.config.outbox_path):
            if msg["X-Newsletter-Part"] != "confirm":
                continue
            text = msg.get_body(("plain",)).get_content()
            link = re.search(r"(http://\S+/confirm/\S+)", text)
            assert link, text
            assert link.group(1) in msg.get_body(("html",)).get_content()
            links[msg["To"].addresses[0].addr_spec] = link.group(1)
        return links

    def parts_for(self, address: str) -> list[str]:
        return [
            str(m["X-Newsletter-Part"])
            for m in outbox_messages(self.config.outbox_path)
            if m["To"].addresses[0].addr_spec == address and m["X-Newsletter-Part"] != "confirm"
        ]

    def send_due(self, at: timedelta = timedelta(0)) -> None:
        Sender(self.store, get_provider(self.config), self.config).send_due(utcnow() + at)

    def status(self, address: str) -> str | None:
        return self.row(address).get("status")

    def row(self, address: str) -> dict[str, str]:
        rows = list(iter_subscribers(self.store))  # read to the end: the cursor closes
        return next((r for r in rows if r["email"] == address), {})


def start_site(root: Path, toml: str) -> Iterator[Site]:
    (root / "newsletter.toml").write_text(toml, encoding="utf-8")
    cfg = load_config(root / "newsletter.toml")
    store = Store(cfg.db_url)
    with store.begin() as conn:
        store.list_id(conn, "readers", create=True)
    server = make_server("127.0.0.1", 0, create_app(store, cfg), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    cfg.web.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield Site(cfg.web.base_url, store, cfg, root)
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def site_cli(site: Site, *args: str) -> Result:
    """`newsletter --config SITE/newsletter.toml ARGS...`"""
    return CliRunner().invoke(cli, ["--config", str(site.root / "newsletter.toml"), *args])


def site_toml(db_url: str = "sqlite:///newsletter.db") -> str:
    return (
        f'database_url = "{db_url}"\n'
        '[sender]\nname = "Dana at Calm Practice"\nemail = "dana@example.com"\n'
        f'[lists.readers]\nconsent_text = "{CONSENT}"\ntitle = "Get the series by email"\n'
        'page = "https://blog.example.com/guilt"\n'
        "[lists.open]\ndouble_opt_in = false\n"
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml())


@pytest.fixture
def site_db(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The site on SQLite and on PostgreSQL."""
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml(db_url))


def test_form_double_opt_in_consent_record_and_part_one(site_db: Site) -> None:
    site = site_db
    queue_issue(site.store, site.config, ISSUE, list_name="readers", mode="sequence", every="1d")
    answer = site.post(
        email="Reader@Example.COM",
        first_name="Rae",
        timezone="Europe/Paris",
        consent="yes",
        page="https://blog.example.com/guilt?utm=x",
    )
    assert answer.status_code == 200 and "check your inbox" in answer.text.lower()
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert site.status("Reader@example.com") == "pending"
    # Asked twice before confirming (the second email replaces the first in the outbox).
    assert site.post(
        email="Reader@Example.COM",
        first_name="Rae",
        consent="yes",
        timezone="Europe/Paris",
        page="https://blog.example.com/guilt?utm=x",
    ).ok
    link = site.confirmations()["Reader@example.com"]
    # named by its kind, not by a negative id a shell would read as an option
    assert [p.name[:8] for p in site.config.outbox_path.glob("*.eml")] == ["confirm-"]
    # Pending: nothing of the series goes out.
    site.send_due()
    assert site.parts_for("Reader@example.com") == []
    # A GET (a link scanner) only shows the button.
    page = requests.get(link, timeout=60)
    assert page.status_code == 200 and "<button" in page.text and "Reader@example.com" in page.text
    assert site.status("Reader@example.com") == "pending"
    done = requests.post(link, timeout=60)
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert site.status("Reader@example.com") == "active"
    site.send_due()
    assert site.parts_for("Reader@example.com") == ["calmer-mornings-part-1"]
    # Asking again says what it says to anyone: nothing tells the address is on the list.
    assert (
        site.post(email="reader@example.com", consent="yes").text
        == site.post(email="someone@example.com", consent="yes").text
    )
    # Pressing again is harmless.
    again = requests.post(link, timeout=60)
    assert again.status_code == 200 and "confirmed already" in again.text

    # The consent record, shown and exported.
    out = site_cli(site, "subscribers", "show", "reader@example.com")
    assert out.exit_code == 0, out.output
    for expected in (
        "status:          active",
        "first_name:      Rae",
        "Europe/Paris",
        "form on readers",
        "https://blog.example.com/guilt?utm=x",
        "127.0.0.1",
        "Mozilla/5.0 (test)",
        CONSENT,
    ):
        assert expected in out.output, (expected, out.output)
    assert "confirmed:  no" not in out.output
    assert out.output.count("form on readers") == 1  # the earlier, unconfirmed request went
    row = site.row("Reader@example.com")
    assert row["joined_via"] == "form" and row["consent_ip"] == "127.0.0.1"
    assert row["consent_text"] == CONSENT and row["confirmed_at"]
    assert row["consent_user_agent"] == "Mozilla/5.0 (test)"
    # Erasure takes the record with it; only the hash stays.
    out = site_cli(site, "subscribers", "remove", "--forget", "reader@example.com")
    assert out.exit_code == 0, out.output
    assert site.status("Reader@example.com") is None
    out = site_cli(site, "subscribers", "show", "reader@example.com")
    assert out.exit_code == 1 and "not a subscriber" in out.output


def test_a_bad_list_setting_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('[lists.readers]\nconfirm_expiry = "soon"\n')
    out = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "newsletter.toml"), "form", "readers"]
    )
    assert out.exit_code == 1
    assert "[lists.readers] confirm_expiry" in out.output and "expected an interval" in out.output
    assert "Traceback" not in out.output


def test_import_and_cli_joins_are_recorded(site: Site) -> None:
    add_subscriber(site.store, "cli@example.com", list_name="readers")
    row = site.row("cli@example.com")
    assert row["joined_via"] == "cli" and row["consent_ip"] == ""
    # Someone who has not confirmed the form is not made a subscriber by an import either.
    assert site.post(email="wait@example.com", consent="yes").status_code == 200
    result = add_subscriber(site.store, "wait@example.com", list_name="readers")
    assert "not confirmed" in result.skipped[0][1] and site.status("wait@example.com") == "pending"


def test_honeypot_and_rate_limits_send_nothing(site: Site) -> None:
    bot = site.post(email="bot@example.com", consent="yes", website="http://spam.example")
    assert bot.status_code == 200 and "check your inbox" in bot.text.lower()
    assert site.status("bot@example.com") is None and site.confirmations() == {}
    # Per address: the fourth request within the hour is refused and sends nothing.
    for _ in range(3):
        assert site.post(email="same@example.com", consent="yes").status_code == 200
    before = [m["Message-ID"] for m in outbox_messages(site.config.outbox_path)]
    refused = site.post(email="same@example.com", consent="yes")
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert [m["Message-ID"] for m in outbox_messages(site.config.outbox_path)] == before
    # Per IP: after ten requests from one address, the eleventh is refused.
    for n in range(6):
        assert site.post(email=f"n{n}@example.com", consent="yes").status_code == 200
    last = site.post(email="eleventh@example.com", consent="yes")
    assert last.status_code == 429
    assert site.status("eleventh@example.com") is None
    assert "eleventh@example.com" not in site.confirmations()


def test_bad_input_gets_a_readable_page(site: Site) -> None:
    bad = site.post(email="not an address", consent="yes")
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("text/html")
    assert "is not a valid email address" in bad.text and "Traceback" not in bad.text
    assert 'href="https://blog.example.com/guilt"' in bad.text  # back to the form
    no_consent = site.post(email="ok@example.com")
    assert no_consent.status_code == 400 and "tick the box" in no_consent.text
    as_json = requests.post(
        f"{site.base}/subscribe/readers", json={"email": "nope", "consent": True}, timeout=10
    )
    assert as_json.status_code == 400
    assert as_json.json()["ok"] is False and as_json.json()["field"] == "email"
    huge = site.post(email="x@example.com", consent="yes", first_name="y" * 20000)
    assert huge.status_code == 413 and "Traceback" not in huge.text
    long = site.post(email="a" * 400 + "@example.com", consent="yes")
    assert long.status_code == 400 and "too long" in long.text
    hosted = requests.get(f"{site.base}/subscribe/readers", timeout=60)
    assert hosted.status_code == 200 and 'action="' in hosted.text and CONSENT in hosted.text
    assert requests.get(f"{site.base}/subscribe/no-such-list", timeout=60).status_code == 404
    unknown = site.post("no-such-list", email="ok@example.com")
    assert unknown.status_code == 404 and "no list called" in unknown.text
    assert site.confirmations() == {}


def test_forged_and_expired_links_are_refused(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    real = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 8 * 86400)
    assert site.post(email="late@example.com", consent="yes").status_code == 200
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    link = site.confirmations()["late@example.com"]
    for method in (requests.get, requests.post):
        expired = method(link, timeout=60)
        assert expired.status_code == 410 and "expired" in expired.text
    assert site.status("late@example.com") == "pending"
    assert site.post(email="fresh@example.com", consent="yes").status_code == 200
    good = site.confirmations()["fresh@example.com"]
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    assert requests.post(forged, timeout=60).status_code == 400
    assert requests.post(f"{site.base}/confirm/abc.def", timeout=60).status_code == 400
    assert site.status("fresh@example.com") == "pending"


def test_unconfirmed_addresses_are_purged_after_the_expiry(site: Site) -> None:
    assert site.post(email="never@example.com", consent="yes").status_code == 200
    eight_days_ago = utcnow() - timedelta(days=8)
    with site.store.begin() as conn:  # the request was made eight days ago
        conn.execute(Subscriber.__table__.update().values(subscribed_at=eight_days_ago))
        conn.execute(Membership.__table__.update().values(joined_at=eight_days_ago))
    assert site.post(email="other@example.com", consent="yes").status_code == 200
    assert site.status("never@example.com") is None
    assert site.status("other@example.com") == "pending"
    # send-due (from cron) purges too, without anyone using the form.
    with site.store.begin() as conn:
        conn.execute(Subscriber.__table__.update().values(subscribed_at=eight_days_ago))
        conn.execute(Membership.__table__.update().values(joined_at=eight_days_ago))
    toml = str(site.root / "newsletter.toml")
    assert CliRunner().invoke(cli, ["--config", toml, "send-due"]).exit_code == 0
    assert site.status("other@example.com") is None


def test_run_purges_unconfirmed_addresses_too(site: Site) -> None:
    """`newsletter run` (no cron) forgets expired requests at start and every hour."""
    import time

    assert site.post(email="never@example.com", consent="yes").status_code == 200
    eight_days_ago = utcnow() - timedelta(days=8)
    with site.store.begin() as conn:
        conn.execute(Subscriber.__table__.update().values(subscribed_at=eight_days_ago))
        conn.execute(Membership.__table__.update().values(joined_at=eight_days_ago))
    run = newsletter_process("--config", str(site.root / "newsletter.toml"), "run")
    try:
        deadline = time.monotonic() + 120  # (a busy machine)
        while site.status("never@example.com") is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert site.status("never@example.com") is None
    finally:
        out = stop_process(run)
    assert run.returncode == 0 and "Traceback" not in out, out


def test_left_or_suppressed_addresses_are_not_silently_resubscribed(site_db: Site) -> None:
    site = site_db
    add_subscriber(site.store, "left@example.com", list_name="open")
    unsubscribe(site.store, "left@example.com")
    add_subscriber(site.store, "active@example.com", list_name="open")
    site.store.suppress("bounced@example.com", "bounced")
    queue_issue(site.store, site.config, ISSUE, list_name="open", mode="sequence", every="1d")
    answers = {
        a: (r.status_code, r.text.replace(a, "ADDRESS"))
        for a in (
            "left@example.com",
            "active@example.com",
            "bounced@example.com",
            "new@example.com",
        )
        for r in [site.post("open", email=a)]
    }
    # "open" has no double opt-in, yet someone who left must confirm themselves; the page
    # says the same whatever the address.
    assert len(set(answers.values())) == 1, answers
    assert "you are subscribed" in answers["new@example.com"][1]
    assert site.status("new@example.com") == "active"
    assert site.status("left@example.com") == "unsubscribed"
    links = site.confirmations()
    assert set(links) == {"left@example.com"}  # nothing to the bounced or active address
    site.send_due()
    assert site.parts_for("left@example.com") == []
    assert site.parts_for("new@example.com") == ["calmer-mornings-part-1"]
    assert requests.post(links["left@example.com"], timeout=60).status_code == 200
    assert site.status("left@example.com") == "active"
    site.send_due()
    assert site.parts_for("left@example.com") == ["calmer-mornings-part-1"]


def preferences_link(site: Site, address: str) -> str:
    for msg in outbox_messages(site.config.outbox_path):
        if msg["To"].addresses[0].addr_spec == address and msg["X-Newsletter-Part"] != "confirm":
            html = msg.get_body(("html",)).get_content()
            found = re.search(r'href="([^"]+\?preferences)"', html)
            assert found, "no preferences link in the footer"
            text = msg.get_body(("plain",)).get_content()
            assert found.group(1).replace("&amp;", "&") in text
            return found.group(1)
    raise AssertionError(f"no email to {address}")


def test_preferences_pause_lists_download_and_erase(site_db: Site) -> None:
    site = site_db
    add_subscriber(site.store, "pat@example.com", first_name="Pat", list_name="readers")
    queue_issue(site.store, site.config, ISSUE, list_name="readers", mode="sequence", every="1d")
    site.send_due()
    link = preferences_link(site, "pat@example.com")
    page = requests.get(link, timeout=60)
    assert page.status_code == 200 and page.url.startswith(f"{site.base}/preferences/")
    assert 'value="Pat"' in page.text
    url = page.url
    with site.store.begin() as conn:
        due_before = conn.scalar(select(Delivery.due_at).where(Delivery.part == 2))
    paused = requests.post(url, data={"action": "pause", "pause": "2w"}, timeout=60)
    assert paused.status_code == 200 and "Paused" in paused.text
    with site.store.begin() as conn:
        due_after = conn.scalar(select(Delivery.due_at).where(Delivery.part == 2))
    assert due_after >= utcnow() + timedelta(days=13, hours=23) and due_after > due_before
    data = requests.post(url, data={"action": "download"}, timeout=60)
    assert "attachment" in data.headers["Content-Disposition"]
    mine = data.json()
    assert mine["email"] == "pat@example.com" and mine["first_name"] == "Pat"
    assert mine["consent"][0]["method"] == "cli"
    assert [e["state"] for e in mine["emails"]] == ["sent", "scheduled"]
    # Leave the list: the remaining part is skipped.
    requests.post(url, data={"action": "save", "first_name": "Patricia"}, timeout=60)
    with site.store.begin() as conn:
        assert conn.scalar(select(Delivery.state).where(Delivery.part == 2)) == "skipped"
        assert conn.scalar(select(Subscriber.first_name)) == "Patricia"
    # A GET never erases; the POST does, keeping only the hash.
    erase = requests.post(url, data={"action": "erase", "sure": "yes"}, timeout=60)
    assert erase.status_code == 200 and "erased" in erase.text
    assert site.status("pat@example.com") is None
    with site.store.begin() as conn:
        assert site.store.is_suppressed(conn, "pat@example.com") == "erased"
    assert requests.get(url, timeout=60).status_code == 400


def test_archive_shows_only_parts_sent_and_a_valid_feed(site: Site, tmp_path: Path) -> None:
    add_subscriber(site.store, "ann@example.com", first_name="Annabel", list_name="readers")
    queue_issue(site.store, site.config, ISSUE, list_name="readers", every="1d")
    empty = requests.get(f"{site.base}/archive/", timeout=60)
    assert empty.status_code == 200 and "Nothing has been sent yet" in empty.text
    site.send_due()
    index = requests.get(f"{site.base}/archive/", timeout=60)
    assert "calmer-mornings/1/" in index.text and "calmer-mornings/2/" not in index.text
    assert requests.get(f"{site.base}/archive/calmer-mornings/2/", timeout=60).status_code == 404
    part = requests.get(f"{site.base}/archive/calmer-mornings/1/", timeout=60)
    assert part.status_code == 200 and "Annabel" not in part.text and "%%NL_" not in part.text
    email_html = next(
        m.get_body(("html",)).get_content() for m in outbox_messages(site.config.outbox_path)
    )
    assert f"{site.base}/archive/calmer-mornings/1/" in email_html  # view in browser
    cta = re.search(r'class="nl-cta"[^>]*>.*?href="([^"]+)"', email_html, re.S)
    assert cta and cta.group(1) == "https://example.com/contact"
    assert cta.group(1) in part.text and "Book a free 15-minute call" in part.text

    feed_xml = requests.get(f"{site.base}/archive/feed.xml", timeout=60)
    assert feed_xml.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed_xml.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == 1
    assert parsed.entries[0].link == f"{site.base}/archive/calmer-mornings/1/"
    check_atom(feed_xml.content)

    out = tmp_path / "static"
    result = CliRunner().invoke(
        cli, ["--config", str(site.root / "newsletter.toml"), "archive", "build", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "calmer-mornings" / "1" / "index.html").read_text() == part.text
    assert not (out / "calmer-mornings" / "2").exists()
    check_atom((out / "feed.xml").read_bytes())

    # Part 2 goes out a day later (the clock moved by the sender): it appears then.
    site.send_due(timedelta(days=1, minutes=1))
    later = utcnow() + timedelta(days=1, minutes=1)  # (read after: the sender's clock is <=)
    archive = Archive(site.store, site.config)
    assert archive.part("calmer-mornings", 2, utcnow()) is None  # not yet, by the clock
    assert archive.part("calmer-mornings", 2, later) is not None
    assert len(feedparser.parse(archive.feed(later)).entries) == 2


def check_atom(data: bytes) -> None:
    """RFC 4287's structure: the feed and each entry have exactly one id, title and
    updated (RFC 3339), the feed an author, every link an href; ids are unique."""
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
    for element in [root, *root.findall(f"{ATOM}entry")]:
        for name in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{name}")) == 1, (element.tag, name)
        assert stamp.match(element.findtext(f"{ATOM}updated") or "")
        for link in element.findall(f"{ATOM}link"):
            assert link.get("href", "").startswith("http")
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    assert len(ids) == len(set(ids))
    assert any(link.get("rel") == "self" for link in root.findall(f"{ATOM}link"))


def test_form_command_prints_the_form(site: Site) -> None:
    toml = str(site.root / "newsletter.toml")
    out = CliRunner().invoke(cli, ["--config", toml, "form", "readers"])
    assert out.exit_code == 0, out.output
    assert (
        '<form class="nl-subscribe" action="http://127.0.0.1:8025/subscribe/readers"' in out.output
    )
    assert CONSENT in out.output and 'name="website"' in out.output and "fetch(" not in out.output
    fetch = CliRunner().invoke(cli, ["--config", toml, "form", "readers", "--fetch"])
    assert "fetch(f.action" in fetch.output and 'aria-live="polite"' in fetch.output
    assert json.dumps  # the JSON answer is checked in test_bad_input_gets_a_readable_page


@pytest.mark.parametrize("proxies", [0, 1])
def test_reader_ip_behind_a_trusted_proxy_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxies: int
) -> None:
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    toml = site_toml() + f"[web]\ntrusted_proxies = {proxies}\n"
    for site in start_site(tmp_path, toml):
        answer = requests.post(
            f"{site.base}/subscribe/readers",
            data={"email": "far@example.com", "consent": "yes"},
            headers={"X-Forwarded-For": "203.0.113.7"},
            timeout=10,
        )
        assert answer.status_code == 200
        # Without a proxy in front, the header is anyone's to fake: not believed.
        assert site.row("far@example.com")["consent_ip"] == (
            "203.0.113.7" if proxies else "127.0.0.1"
        )


def test_a_pause_keeps_the_local_hour(site: Site) -> None:
    add_subscriber(site.store, "kei@example.com", list_name="readers", timezone="Asia/Tokyo")
    queue_issue(
        site.store, site.config, ISSUE, list_name="readers", mode="sequence", every="1d", at="09:00"
    )
    site.send_due()  # enrols the reader
    with site.store.begin() as conn:
        sid = conn.scalar(select(Subscriber.id))
    url = Signer.from_env(site.store.signing_secret()).preferences_url(
        site.base, sid, key=token_key(site.store, sid)
    )
    assert requests.post(url, data={"action": "pause", "pause": "1w"}, timeout=60).ok
    with site.store.begin() as conn:
        due = sorted(conn.scalars(select(Delivery.due_at).where(Delivery.state == "scheduled")))
    tokyo = [d.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo")) for d in due]
    assert len(due) == 2 and all(t.time() == dtime(9, 0) for t in tokyo), tokyo
    assert due[0] >= utcnow() + timedelta(days=7) and due[1] - due[0] == timedelta(days=1)
    bad = requests.post(url, data={"action": "pause", "pause": "forever"}, timeout=60)
    assert bad.status_code == 400 and "expected one of" in bad.text
    bad_tz = requests.post(url, data={"action": "save", "timezone": "Mars/Base"}, timeout=60)
    assert bad_tz.status_code == 400 and "unknown time zone" in bad_tz.text


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_confirmation_goes_out_through_the_configured_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """One message at once, through the provider's own API; when the provider refuses it,
    the reader is told to try again later (and may: nothing was sent)."""
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    monkeypatch.setenv(ENV[name], KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    mock = MockProvider(name)
    toml = site_toml() + (
        f'[sending]\nprovider = "{name}"\n[providers.{name}]\nbase_url = "{mock.url}"\n'
        "backoff = 0.01\ntimeout = 5\n"
        + ('domain = "mg.example.org"\n' if name == "mailgun" else "")
    )
    try:
        for site in start_site(tmp_path, toml):
            assert site.post(email="pro@example.com", consent="yes").status_code == 200
            assert mock.addresses() == ["pro@example.com"]
            sent = mock.received[0]
            link = re.search(r"http://\S+/confirm/[\w.-]+", sent.text)
            assert link and link.group(0) in sent.html
            assert sent.subject == "Please confirm: Get the series by email"
            assert requests.post(link.group(0), timeout=60).status_code == 200
            assert site.status("pro@example.com") == "active"
            mock.script = [400]
            refused = site.post(email="later@example.com", consent="yes")
            # The answer went before the email: the same for everyone; the email is
            # tried again later, and the editor is told.
            assert refused.status_code == 200 and "check your inbox" in refused.text
            assert mock.addresses() == ["pro@example.com"]
            with site.store.begin() as conn:
                row = conn.execute(
                    select(Confirmation.state, Confirmation.attempts, Confirmation.due_at)
                    .order_by(Confirmation.id.desc())
                    .limit(1)
                ).one()
            assert (row.state, row.attempts) == ("queued", 1) and row.due_at > utcnow()
            events = [e.message for e in site.store.events()]
            assert any("a confirmation email was not sent" in m for m in events)
    finally:
        mock.stop()


def test_a_provider_without_its_key_is_a_readable_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    monkeypatch.delenv("POSTMARK_SERVER_TOKEN", raising=False)
    mock = MockProvider("postmark")
    toml = (
        site_toml()
        + f'[sending]\nprovider = "postmark"\n[providers.postmark]\nbase_url = "{mock.url}"\n'
    )
    try:
        for site in start_site(tmp_path, toml):
            page = site.post(email="nokey@example.com", consent="yes")
            assert page.status_code == 200 and "check your inbox" in page.text
            assert mock.requests == 0
            events = [e.message for e in site.store.events()]
            assert any("readers: a confirmation email was not sent" in m for m in events)
            assert not any("nokey@example.com" in m for m in events)
    finally:
        mock.stop()


def test_an_editor_overrides_a_page_with_their_own_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    own = tmp_path / "templates" / "web"
    own.mkdir(parents=True)
    (own / "message.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Merci !</h1><p>{{ message }}</p>'
        "{% endblock %}",
        encoding="utf-8",
    )
    for site in start_site(tmp_path, site_toml()):
        page = site.post(email="fr@example.com", consent="yes")
        assert page.status_code == 200 and "<h1>Merci !</h1>" in page.text
        assert "check your inbox" in page.text.lower()  # the built-in base.html still used
        assert "<style>" in page.text


def test_brand_settings_reach_the_pages_styles_without_breaking_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    hostile = site_toml() + '[brand]\nprimary_color = "red;}</style><script>alert(1)</script>"\n'
    (tmp_path / "newsletter.toml").write_text(hostile, encoding="utf-8")
    with pytest.raises(ConfigError, match="brand.primary_color"):
        load_config(tmp_path / "newsletter.toml")  # refused where it enters
    toml = site_toml() + '[brand]\nprimary_color = "#aa3300"\n'
    for site in start_site(tmp_path, toml):
        page = requests.get(f"{site.base}/subscribe/readers", timeout=60).text
        assert "font: 17px/1.5 Georgia, 'Times New Roman', serif;" in page
        assert "#aa3300" in page and page.count("</style>") == 1
