"""One enrolment for every path into a sequence: a reader who joins through the form of a
single opt-in list, one who confirms from the email, and one the sender's sweep finds
(added by the editor) get the same ledger rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from newsletter.schedule import queue_issue
from newsletter.store.models import Delivery, Membership, Subscriber
from newsletter.store.subscribers import add_subscriber

from .test_signup import ISSUE, Site, site_toml, start_site

FORM, CONFIRMED, SWEPT = "form@example.com", "confirmed@example.com", "swept@example.com"


@pytest.fixture
def site(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    yield from start_site(tmp_path, site_toml(db_url))


def rows_of(site: Site, address: str) -> list[tuple[int, timedelta, str]]:
    """The reader's rows: (part, due time after they joined the list, state)."""
    with site.store.begin() as conn:
        found = conn.execute(
            select(Delivery.part, Delivery.due_at, Membership.joined_at, Delivery.state)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .join(Membership, Membership.subscriber_id == Subscriber.id)
            .where(Subscriber.email == address)
            .order_by(Delivery.part)
        ).all()
    return [(part, due - joined, str(state)) for part, due, joined, state in found]


def test_the_form_the_confirmation_and_the_sweep_enrol_alike(site: Site) -> None:
    with site.store.begin() as conn:
        site.store.list_id(conn, "open", create=True)
    for name in ("open", "readers"):  # (readers: double opt-in; open: single)
        queue_issue(site.store, site.config, ISSUE, list_name=name, mode="sequence", every="1d")

    assert site.post("open", email=FORM, consent="yes").ok  # on the list at once
    assert site.post("readers", email=CONFIRMED, consent="yes").ok
    assert requests.post(site.confirmations()[CONFIRMED], timeout=10).ok
    add_subscriber(site.store, SWEPT, list_name="open")  # as an import or the CLI does

    # The form and the confirmation enrol the reader as they answer; the sweep comes
    # with the next send.
    parts = len(rows_of(site, FORM))
    assert parts > 1 and rows_of(site, CONFIRMED) == rows_of(site, FORM)
    assert rows_of(site, SWEPT) == []

    site.send_due()
    expected = [
        (k, timedelta(days=k - 1), "sent" if k == 1 else "scheduled") for k in range(1, parts + 1)
    ]
    for address in (FORM, CONFIRMED, SWEPT):
        assert rows_of(site, address) == expected, address
        assert site.parts_for(address) == ["calmer-mornings-part-1"]
    site.send_due()  # nothing twice, whichever path wrote the rows
    assert [site.parts_for(a) for a in (FORM, CONFIRMED, SWEPT)] == [["calmer-mornings-part-1"]] * 3
