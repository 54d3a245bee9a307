"""A reader's links stay theirs (issue 18): a link of an erased or removed reader opens
nothing, not even for the next person to join, on SQLite and PostgreSQL; links sent before
the upgrade keep working for the readers they were sent to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from newsletter.schedule import queue_issue

from .test_signup import ISSUE, Site, preferences_link, site_cli, site_toml, start_site


@pytest.fixture
def site_db(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml(db_url))


def unsubscribe_link(site: Site, address: str) -> str:
    link = preferences_link(site, address).replace("&amp;", "&")
    return link.removesuffix("?preferences")


def subscriber_id(site: Site, address: str) -> int:
    from sqlalchemy import select

    from newsletter.store.models import Subscriber

    with site.store.begin() as conn:
        return int(conn.scalar(select(Subscriber.id).where(Subscriber.email_key == address)))


def refused(site: Site, token_url: str, *others: str) -> None:
    """Every page and action of the link answers 'not valid', and shows nobody's data."""
    token = token_url.rsplit("/", 1)[1]
    answers = [
        requests.get(f"{site.base}/u/{token}", timeout=60),
        requests.post(f"{site.base}/u/{token}", data={"scope": "series"}, timeout=60),
        requests.post(f"{site.base}/u/{token}", data={"List-Unsubscribe": "One-Click"}, timeout=60),
        requests.get(f"{site.base}/preferences/{token}", timeout=60),
        requests.post(f"{site.base}/preferences/{token}", data={"action": "download"}, timeout=60),
        requests.post(
            f"{site.base}/preferences/{token}",
            data={"action": "save", "first_name": "Taken"},
            timeout=10,
        ),
        requests.post(
            f"{site.base}/preferences/{token}", data={"action": "pause", "pause": "3m"}, timeout=10
        ),
        requests.post(
            f"{site.base}/preferences/{token}", data={"action": "erase", "sure": "yes"}, timeout=10
        ),
    ]
    for answer in answers:
        assert answer.status_code == 400, (answer.request.method, answer.url, answer.text[:300])
        for other in others:
            assert other not in answer.text


@pytest.mark.parametrize("erase", ["preferences page", "subscribers remove --forget"])
def test_an_erased_readers_link_does_not_open_the_next_subscriber(
    site_db: Site, erase: str
) -> None:
    site = site_db
    with site.store.begin() as conn:
        site.store.list_id(conn, "open", create=True)
    queue_issue(site.store, site.config, ISSUE, list_name="open", mode="sequence", every="1d")
    # Ann joins, gets part 1 and keeps its link.
    assert site.post("open", email="ann@example.com", first_name="Ann").status_code == 200
    site.send_due()
    kept = unsubscribe_link(site, "ann@example.com")
    assert requests.get(kept, timeout=60).status_code == 200
    ann_id = subscriber_id(site, "ann@example.com")
    # Ann is erased.
    if erase == "preferences page":
        page = requests.get(kept + "?preferences", timeout=60)
        gone = requests.post(page.url, data={"action": "erase", "sure": "yes"}, timeout=60)
        assert gone.status_code == 200 and "erased" in gone.text
    else:
        out = site_cli(site, "subscribers", "remove", "--forget", "ann@example.com")
        assert out.exit_code == 0, out.output
    assert site.status("ann@example.com") is None
    # Bea joins next and gets part 1.
    assert site.post("open", email="bea@example.com", first_name="Bea").status_code == 200
    site.send_due()
    assert site.parts_for("bea@example.com") == ["calmer-mornings-part-1"]
    # Ann's old link opens nothing, and Bea is untouched.
    assert subscriber_id(site, "bea@example.com") > ann_id, "an id is never given again"
    refused(site, kept, "bea@example.com", "Bea")
    assert site.status("bea@example.com") == "active"
    assert site.row("bea@example.com")["first_name"] == "Bea"
    bea = unsubscribe_link(site, "bea@example.com")
    assert bea != kept
    page = requests.get(bea + "?preferences", timeout=60)
    assert page.status_code == 200 and "bea@example.com" in page.text


def test_an_erased_readers_confirmation_link_does_not_confirm_the_next(site_db: Site) -> None:
    site = site_db
    assert site.post(email="ann@example.com", consent="yes").status_code == 200
    kept = site.confirmations()["ann@example.com"]
    out = site_cli(site, "subscribers", "remove", "--forget", "ann@example.com")
    assert out.exit_code == 0, out.output
    assert site.post(email="bea@example.com", consent="yes").status_code == 200
    assert site.status("bea@example.com") == "pending"
    for answer in (requests.get(kept, timeout=60), requests.post(kept, timeout=60)):
        assert answer.status_code == 400 and "bea@example.com" not in answer.text
    assert site.status("bea@example.com") == "pending", "nobody confirmed for Bea"
    bea = site.confirmations()["bea@example.com"]
    assert re.search(r"/confirm/\S+", bea) and bea != kept
    assert requests.post(bea, timeout=60).status_code == 200
    assert site.status("bea@example.com") == "active"


SECRET = "a-secret-kept-in-the-database-0123456789"


def database_at_0007(url: str) -> None:
    """A database as the version before keys left it: Ann, Bob and Cy on a list with
    consent records and a series under way; Cy (the newest) erased."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from newsletter.store.db import alembic_config

    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
        at = "2026-01-05 09:00:00"
        conn.execute(text("INSERT INTO settings VALUES ('signing_secret', :s)"), {"s": SECRET})
        conn.execute(
            text("INSERT INTO lists (id, name, created_at) VALUES (1, 'readers', :at)"), {"at": at}
        )
        for sid, email, name in [
            (1, "ann@example.com", "Ann"),
            (2, "bob@example.com", "Bob"),
            (3, "cy@example.com", "Cy"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO subscribers (id, email, email_key, first_name, last_name, tags,"
                    " status, subscribed_at) VALUES (:id, :e, :e, :n, '', 'vip', 'active', :at)"
                ),
                {"id": sid, "e": email, "n": name, "at": at},
            )
            conn.execute(
                text("INSERT INTO memberships VALUES (:id, 1, :at, 'active')"),
                {"id": sid, "at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO consents (subscriber_id, list_id, method, joined_at, form_url,"
                    " ip, user_agent, consent_text) VALUES (:id, 1, 'form', :at, '', '', '', '')"
                ),
                {"id": sid, "at": at},
            )
        conn.execute(
            text(
                "INSERT INTO campaigns (id, slug, title, issue_path, list_id, mode, start_at,"
                " interval_seconds, default_timezone, status, parts, created_at) VALUES"
                " (1, 'mornings', 'Calmer Mornings', 'x.md', 1, 'sequence', :at, 86400, 'UTC',"
                " 'active', 2, :at)"
            ),
            {"at": at},
        )
        for sid in (1, 2, 3):
            for part, state in ((1, "sent"), (2, "scheduled")):
                conn.execute(
                    text(
                        "INSERT INTO deliveries (campaign_id, subscriber_id, part, due_at, state,"
                        " attempts) VALUES (1, :sid, :part, :at, :state, 1)"
                    ),
                    {"sid": sid, "part": part, "at": "2099-01-01 09:00:00", "state": state},
                )
        if conn.dialect.name == "postgresql":  # the rows above took ids from the sequences
            for table in ("lists", "subscribers", "campaigns"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 3)"))
        for table in ("deliveries", "consents", "memberships", "subscribers"):  # Cy erased
            column = "id" if table == "subscribers" else "subscriber_id"
            conn.execute(text(f"DELETE FROM {table} WHERE {column} = 3"))
    engine.dispose()


def test_links_sent_before_the_upgrade_keep_working_and_die_with_their_reader(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from newsletter.signing import Signer
    from newsletter.store.models import Consent, Delivery, Membership
    from newsletter.store.subscribers import add_subscriber

    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    database_at_0007(db_url)
    old = Signer(SECRET)
    ann_series, ann_all = old.legacy_token(1, 1), old.legacy_token(1)
    bob_all, cy_all = old.legacy_token(2), old.legacy_token(3)
    for site in start_site(tmp_path, site_toml(db_url)):  # the upgrade runs here
        with site.store.begin() as conn:  # rebuilding the table took nothing with it
            counts = [
                conn.scalar(select(func.count()).select_from(t))
                for t in (Membership, Consent, Delivery)
            ]
        assert counts == [2, 2, 4]
        # Ann's and Bob's links from before the upgrade still work.
        page = requests.get(f"{site.base}/u/{ann_series}", timeout=60)
        assert page.status_code == 200 and "ann@example.com" in page.text
        assert "Calmer Mornings" in page.text
        prefs = requests.get(f"{site.base}/preferences/{ann_all}", timeout=60)
        assert prefs.status_code == 200 and 'value="Ann"' in prefs.text
        stop = requests.post(f"{site.base}/u/{ann_series}", data={"scope": "series"}, timeout=60)
        assert stop.status_code == 200 and site.status("ann@example.com") == "active"
        mine = requests.post(
            f"{site.base}/preferences/{bob_all}", data={"action": "download"}, timeout=10
        ).json()
        assert mine["email"] == "bob@example.com"
        # Dee joins after the upgrade; Cy's link (whose id a new row may get) opens nothing.
        add_subscriber(site.store, "dee@example.com", first_name="Dee", list_name="readers")
        refused(site, f"{site.base}/u/{cy_all}", "dee@example.com", "Dee")
        refused(site, f"{site.base}/u/{old.legacy_token(4)}", "dee@example.com", "Dee")
        assert site.row("dee@example.com")["first_name"] == "Dee"
        # Ann erased: her old links die with her.
        gone = requests.post(
            f"{site.base}/preferences/{ann_all}",
            data={"action": "erase", "sure": "yes"},
            timeout=10,
        )
        assert gone.status_code == 200 and site.status("ann@example.com") is None
        refused(site, f"{site.base}/u/{ann_series}", "bob@example.com", "dee@example.com")
        add_subscriber(site.store, "eve@example.com", first_name="Eve", list_name="readers")
        refused(site, f"{site.base}/u/{ann_all}", "eve@example.com", "Eve")


def test_no_secret_is_generated_or_kept_when_newsletter_secret_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous import URLSafeSerializer
    from sqlalchemy import select

    from newsletter.signing import SALT
    from newsletter.store.models import Setting
    from newsletter.store.subscribers import add_subscriber

    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEWSLETTER_SECRET", "the-editor-s-own-secret-0123456789")
    for site in start_site(tmp_path, site_toml()):  # serve: the pages and the form
        add_subscriber(site.store, "ann@example.com", list_name="readers")
        queue_issue(site.store, site.config, ISSUE, list_name="readers", every="1d")
        site.send_due()
        assert site.post(email="bea@example.com", consent="yes").status_code == 200
        link = unsubscribe_link(site, "ann@example.com")
        signed = URLSafeSerializer("the-editor-s-own-secret-0123456789", salt=SALT)
        assert signed.loads(link.rsplit("/", 1)[1])[0] == 1
        assert requests.get(link, timeout=60).status_code == 200
        with site.store.begin() as conn:
            kept = set(conn.scalars(select(Setting.key)))
        # no secret in the database (the installation's id, which names our batches at
        # the provider, is no secret)
        assert kept <= {"installation_id"}, kept


def test_every_subscriber_gets_a_key_of_their_own(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import select

    from newsletter.store import Store
    from newsletter.store.models import Subscriber
    from newsletter.store.subscribers import add_subscriber, import_csv

    from .helpers import write_csv

    store = Store(db_url)
    rows = [["email"]] + [[f"r{i}@example.com"] for i in range(3000)]
    import_csv(store, write_csv(tmp_path / "many.csv", rows), list_name="readers")
    add_subscriber(store, "one@example.com")
    with store.begin() as conn:
        found = conn.execute(select(Subscriber.token_key, Subscriber.legacy_links)).all()
    keys = [k for k, _ in found]
    assert len(keys) == 3001 == len(set(keys))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", k) for k in keys)
    assert not any(legacy for _, legacy in found)
    store.close()
