"""A reader's data rights (issue 18): what they can download and the editor sees is all
that is kept about them (tags, suppressions, consent), and erasure leaves their address in
no file: not in SQLite's write-ahead log while the server keeps the database open, not in
the database's free pages, not in the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from newsletter.schedule import queue_issue
from newsletter.store.models import SendBatch

from .helpers import outbox_pairs, write_csv
from .test_signup import ISSUE, Site, preferences_link, site_cli, site_toml, start_site


@pytest.fixture
def site_db(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml(db_url))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml())


def test_download_and_show_hold_tags_suppressions_and_consent(site_db: Site) -> None:
    site = site_db
    rows = [["email", "first_name", "tags"], ["kim@example.com", "Kim", "vip;workshop-2025"]]
    out = site_cli(
        site,
        "subscribers",
        "import",
        str(write_csv(site.root / "k.csv", rows)),
        "--list",
        "readers",
    )
    assert out.exit_code == 0, out.output
    queue_issue(site.store, site.config, ISSUE, list_name="readers", every="1d")
    site.send_due()
    link = preferences_link(site, "kim@example.com").replace("&amp;", "&")
    # Her provider reported a complaint: nothing more goes to her.
    site.store.suppress("kim@example.com", "complained", source="postmark", detail="spam report")
    page = requests.get(link, timeout=60)
    mine = requests.post(page.url, data={"action": "download"}, timeout=60).json()
    assert mine["tags"] == "vip;workshop-2025"
    assert [(s["reason"], s["source"], s["detail"]) for s in mine["suppressions"]] == [
        ("complained", "postmark", "spam report")
    ]
    assert mine["suppressions"][0]["created_at"].endswith("Z")
    assert [c["method"] for c in mine["consent"]] == ["import"]
    shown = site_cli(site, "subscribers", "show", "kim@example.com")
    assert shown.exit_code == 0, shown.output
    for expected in (
        "tags:            vip;workshop-2025",
        "import on readers",
        "suppressed:",
        "  - complained by postmark, ",
        "    detail:      spam report",
    ):
        assert expected in shown.output, (expected, shown.output)
    site.store.unsuppress("kim@example.com")
    plain = site_cli(site, "subscribers", "show", "kim@example.com")
    assert "suppressed:     no" in plain.output


def files_holding(root: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and needle in p.read_bytes().lower()
    )


@pytest.mark.parametrize("how", ["preferences page", "subscribers remove --forget"])
def test_an_erased_address_is_in_no_file(site: Site, how: str) -> None:
    """While `serve` keeps the database open, as the reader would check."""
    queue_issue(site.store, site.config, ISSUE, list_name="readers", mode="sequence", every="1d")
    for address in ("ann.erased@example.com", "bob.kept@example.com"):
        assert site.post(email=address, first_name="X", consent="yes").status_code == 200
        assert requests.post(site.confirmations()[address], timeout=60).status_code == 200
    site.send_due()
    assert {to for to, _ in outbox_pairs(site.config.outbox_path)} == {
        "ann.erased@example.com",
        "bob.kept@example.com",
    }
    link = preferences_link(site, "ann.erased@example.com").replace("&amp;", "&")
    # A provider's refusal quoting her address, as the editor's records keep it.
    refusal = "422 Postmark: You tried to send to ANN.Erased@example.com, an inactive recipient"
    site.store.event("paused", f"calmer-mornings: paused ({refusal})")
    with site.store.begin() as conn:
        conn.execute(update(SendBatch).values(error=refusal))
    files = files_holding(site.root, b"ann.erased@example.com")
    assert "newsletter.db-wal" in files or "newsletter.db" in files
    if how == "preferences page":
        page = requests.get(link, timeout=60)
        gone = requests.post(page.url, data={"action": "erase", "sure": "yes"}, timeout=60)
        assert gone.status_code == 200 and "erased" in gone.text
    else:
        out = site_cli(site, "subscribers", "remove", "--forget", "ann.erased@example.com")
        assert out.exit_code == 0, out.output
    assert files_holding(site.root, b"ann.erased@example.com") == []
    assert files_holding(site.root, b"ann.erased") == []
    events = [e.message for e in site.store.events()]
    assert any("You tried to send to [erased], an inactive" in m for m in events), events
    # Bob's messages and rows are all still there.
    kept = files_holding(site.root, b"bob.kept@example.com")
    assert any(f.startswith("outbox/confirm-") for f in kept)
    assert sum(f.startswith("outbox/0") for f in kept) == 1
    assert site.status("bob.kept@example.com") == "active"
    # What stays is the hash that keeps the address from being added again unasked.
    with site.store.begin() as conn:
        assert site.store.is_suppressed(conn, "ann.erased@example.com") == "erased"
