"""Subscribers: CSV import from real exports, bad rows, idempotence, unsubscribe, erasure."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from newsletter.cli import cli
from newsletter.errors import InputError
from newsletter.store.models import Membership, Subscriber
from newsletter.store.subscribers import (
    add_subscriber,
    export_csv,
    forget,
    import_csv,
    unsubscribe,
)

from .helpers import make_config, open_store, write_csv


def count(store, model=Subscriber) -> int:  # type: ignore[no-untyped-def]
    with store.begin() as c:
        return int(c.scalar(select(func.count()).select_from(model)))


def test_mailchimp_export_with_bom_and_bad_rows(tmp_path: Path, db_url: str) -> None:
    store = open_store(make_config(tmp_path, db_url))
    f = write_csv(
        tmp_path / "mc.csv",
        [
            ["Email Address", "First Name", "Last Name", "TAGS", "TIMEZONE", "OPTIN_TIME"],
            ["ann@example.com", "Ann", "Lee", "vip", "Europe/Paris", "2024-03-01 10:00:00"],
            ["not-an-address", "X", "", "", "", ""],
            ["ANN@Example.COM", "Ann again", "", "", "", ""],
            ["bob@example.org", "Bob", "", "", "Mars/Olympus", "yesterday-ish"],
            ["", "Nobody", "", "", "", ""],
            ["carol@example.net", "Carol", "", "", "", ""],
        ],
        bom=True,
    )
    result = import_csv(store, f, list_name="readers")
    assert result.added == 3
    assert [line for line, _ in result.bad] == [3, 6]
    assert "not a valid address" in result.bad[0][1]
    assert result.skipped == [(4, "ANN@example.com is a duplicate of line 2")]
    assert {line for line, _ in result.warnings} == {5}
    with store.begin() as c:
        ann = c.execute(select(Subscriber).where(Subscriber.email_key == "ann@example.com")).one()
        assert (ann.first_name, ann.timezone, ann.tags) == ("Ann", "Europe/Paris", "vip")
        assert ann.subscribed_at.year == 2024
        bob = c.execute(select(Subscriber).where(Subscriber.email_key == "bob@example.org")).one()
        assert bob.timezone is None
    # The same file again changes nothing.
    again = import_csv(store, f, list_name="readers")
    assert (again.added, again.joined, again.unchanged) == (0, 0, 3)
    assert count(store) == 3 and count(store, Membership) == 3


def test_semicolon_substack_and_squarespace_headers(tmp_path: Path) -> None:
    store = open_store(make_config(tmp_path))
    f = write_csv(
        tmp_path / "eu.csv",
        [
            ["email", "name", "created_at"],
            ["dora@example.de", "Dora Weber", "2025-01-02T08:00:00Z"],
            ["émile@example.fr", "Émile", ""],
        ],
        delimiter=";",
    )
    result = import_csv(store, f, list_name="eu")
    assert result.added == 2 and not result.bad
    sq = write_csv(
        tmp_path / "sq.csv",
        [
            ["Email", "First Name", "Last Name", "Subscribed On"],
            ["fay@example.com", "Fay", "Ng", "03/04/2025"],
        ],
    )
    assert import_csv(store, sq, list_name="eu").added == 1
    rows = list(csv.DictReader(io.StringIO(_export(store))))
    dora = next(r for r in rows if r["email"] == "dora@example.de")
    assert (dora["first_name"], dora["last_name"], dora["lists"]) == ("Dora", "Weber", "eu")
    assert dora["subscribed_at"].startswith("2025-01-02T08:00")


def _export(store) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    export_csv(store, out)
    return out.getvalue()


@pytest.mark.parametrize(
    "content,needle",
    [
        ("naïve,name\n".encode("latin-1"), "not UTF-8"),
        ("email,name\nann@example.com,Ann\n".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
        (b"name,city\nAnn,Paris\n", "no email column"),
    ],
)
def test_unreadable_files_are_one_clear_error(tmp_path: Path, content: bytes, needle: str) -> None:
    store = open_store(make_config(tmp_path))
    f = tmp_path / "x.csv"
    f.write_bytes(content)
    with pytest.raises(InputError) as exc:
        import_csv(store, f, list_name="readers")
    assert needle in str(exc.value) and "x.csv" in str(exc.value)
    assert count(store) == 0


def test_an_interrupted_import_keeps_whole_chunks_and_completes_when_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk is one transaction (so that the form and the sender get in between): a
    crash in the third chunk keeps the first two whole, and the same file imported again
    adds the rest."""
    store = open_store(make_config(tmp_path))
    rows = [["email"]] + [[f"p{i}@example.com"] for i in range(2500)]
    f = write_csv(tmp_path / "big.csv", rows)
    import newsletter.store.bulk as subs

    calls = {"n": 0}
    real = subs._chunks

    def crashing(rows, size):  # type: ignore[no-untyped-def]
        for chunk in real(rows, size):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk full")
            yield chunk

    monkeypatch.setattr(subs, "_chunks", crashing)
    monkeypatch.setattr(subs, "CHUNK", 1000)
    with pytest.raises(OSError):
        import_csv(store, f, list_name="readers")
    assert count(store) == 2000, "whole chunks only"
    monkeypatch.setattr(subs, "_chunks", real)
    again = import_csv(store, f, list_name="readers")
    assert (again.added, again.unchanged) == (500, 2000)


def test_unsubscribed_are_not_re_added_unless_forced(tmp_path: Path, db_url: str) -> None:
    store = open_store(make_config(tmp_path, db_url))
    f = write_csv(tmp_path / "a.csv", [["email"], ["gus@example.com"], ["hal@example.com"]])
    import_csv(store, f, list_name="readers")
    assert unsubscribe(store, "GUS@example.com")
    result = import_csv(store, f, list_name="readers")
    assert result.added == 0 and "unsubscribed earlier" in result.skipped[0][1]
    assert import_csv(store, f, list_name="readers", resubscribe=True).skipped == []
    with store.begin() as c:
        assert (
            c.scalar(select(Subscriber.status).where(Subscriber.email_key == "gus@example.com"))
            == "active"
        )


def test_forget_erases_and_blocks_re_import(tmp_path: Path, db_url: str) -> None:
    store = open_store(make_config(tmp_path, db_url))
    f = write_csv(tmp_path / "a.csv", [["email", "first name"], ["ivy@example.com", "Ivy"]])
    import_csv(store, f, list_name="readers")
    assert forget(store, "ivy@example.com") is not None
    assert "ivy@example.com" not in _export(store)
    with store.begin() as c:
        assert c.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert "ivy" not in str([s.email_key for s in store.suppressions()])
    result = import_csv(store, f, list_name="readers")
    assert result.added == 0 and "suppressed (erased)" in result.skipped[0][1]


def test_add_validates(tmp_path: Path) -> None:
    store = open_store(make_config(tmp_path))
    with pytest.raises(InputError, match="not a valid address"):
        add_subscriber(store, "nope@", list_name="r")
    with pytest.raises(InputError, match="unknown timezone"):
        add_subscriber(store, "ok@example.com", timezone="Moon/Base")
    assert add_subscriber(store, "Ok@Example.com", list_name="r").added == 1
    assert add_subscriber(store, "ok@example.com", list_name="r").unchanged == 1


def test_cli_subscribers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    write_csv(
        tmp_path / "s.csv",
        [["email", "first_name"], ["a@example.com", "A"], ["broken", "B"], ["c@example.com", "C"]],
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["subscribers", "import", "s.csv", "--list", "readers"])
    assert result.exit_code == 0, result.output
    assert "s.csv:3:" in result.output and "2 added" in result.output
    result = runner.invoke(cli, ["subscribers", "export", "-o", "out.csv"])
    assert result.exit_code == 0
    exported = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert [r["email"] for r in exported] == ["a@example.com", "c@example.com"]
    assert runner.invoke(cli, ["subscribers", "remove", "a@example.com"]).exit_code == 0
    listed = runner.invoke(cli, ["subscribers", "list", "--status", "unsubscribed"])
    assert "a@example.com" in listed.output and "c@example.com" not in listed.output
    bad = runner.invoke(cli, ["subscribers", "import", "missing.csv"])
    assert bad.exit_code == 1 and "missing.csv: no such file" in bad.output
    assert "Traceback" not in bad.output


def test_duplicates_far_apart_name_the_first_line(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is read in chunks; a duplicate in a later chunk still names the file's
    line of the first occurrence (found through the database, not kept in memory)."""
    import newsletter.store.bulk as subs

    monkeypatch.setattr(subs, "CHUNK", 3)
    store = open_store(make_config(tmp_path, db_url))
    rows = [["email", "first name"]] + [[f"p{i}@example.com", f"P{i}"] for i in range(8)]
    rows.insert(8, ["P1@EXAMPLE.com", "again"])  # file line 9, a later chunk
    rows.append(["p1@example.com", "third"])  # file line 11
    rows.insert(3, ["p0@example.com", "same chunk"])  # file line 4
    f = write_csv(tmp_path / "dups.csv", rows)
    result = import_csv(store, f, list_name="readers")
    assert result.added == 8
    assert result.skipped == [
        (4, "p0@example.com is a duplicate of line 2"),
        (10, "P1@example.com is a duplicate of line 3"),
        (12, "p1@example.com is a duplicate of line 3"),
    ]
    with store.begin() as c:
        assert (
            c.scalar(select(Subscriber.first_name).where(Subscriber.email_key == "p1@example.com"))
            == "P1"
        )
    again = import_csv(store, f, list_name="readers")
    assert (again.added, again.unchanged, len(again.skipped)) == (0, 8, 3)


def test_common_addresses_take_a_fast_path_that_agrees_with_email_validator() -> None:
    """Plain addresses skip email_validator (a 1,000,000-row import would spend most of
    its time there): the fast path accepts nothing it refuses and normalises the same."""
    from email_validator import EmailNotValidError, validate_email

    import newsletter.store.csvread as subs

    locals_ = ["ann", "Ann.Lee", "a+tag", "a_b-c", "a..b", ".a", "a.", "x" * 64, "x" * 65]
    domains = ["example.com", "EXAMPLE.Co.UK", "mail-1.example.org", "-x.com", "x-.com"]
    domains += ["x.c", "x.123", "x.test", "a.localhost", "test.com", "xn--abc.com"]
    domains += ["a" * 63 + ".com", "a" * 64 + ".com", ".".join(["a" * 60] * 4) + ".com", "x"]
    fast = 0
    for local in locals_:
        for domain in domains:
            address = f"{local}@{domain}"
            try:
                expected: str | None = validate_email(
                    address, check_deliverability=False
                ).normalized
            except EmailNotValidError:
                expected = None
            try:
                got: str | None = subs.normalise_email(address)
            except ValueError:
                got = None
            assert got == expected, address
            fast += bool(subs._PLAIN.fullmatch(address))
    assert fast > 40


def test_awkward_values_are_stored_exactly(tmp_path: Path, db_url: str) -> None:
    """Each chunk goes into the database as one statement (on PostgreSQL as arrays, one per
    column): quotes, commas, braces, backslashes, accents, empty and missing values, and
    dates come back as they were, each with its consent record."""
    store = open_store(make_config(tmp_path, db_url))
    rows = [
        ["Email Address", "First Name", "Last Name", "Tags", "Timezone", "Date Added"],
        [
            "zoe@example.com",
            "Zoë",
            'O\'Brien, "Jr"',
            "{a,b}",
            "Europe/Paris",
            "2021-03-04 05:06:07",
        ],
        ["back@example.com", "back\\slash", "NULL", '"quoted",x', "", ""],
        ["plain@example.com", "", "", "", "", "2020-01-02"],
    ]
    f = tmp_path / "awkward.csv"
    with f.open("w", encoding="utf-8", newline="") as out_file:  # quoted, as exports are
        csv.writer(out_file, quoting=csv.QUOTE_ALL).writerows(rows)
    assert import_csv(store, f, list_name="readers").added == 3
    out = io.StringIO()
    export_csv(store, out)
    got = {r["email"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    zoe, back, plain = got["zoe@example.com"], got["back@example.com"], got["plain@example.com"]
    assert (zoe["first_name"], zoe["last_name"], zoe["tags"]) == ("Zoë", 'O\'Brien, "Jr"', "{a,b}")
    assert (zoe["timezone"], zoe["subscribed_at"]) == ("Europe/Paris", "2021-03-04T05:06:07")
    assert (back["first_name"], back["last_name"], back["tags"]) == (
        "back\\slash",
        "NULL",
        '"quoted",x',
    )
    assert back["timezone"] == "" and back["subscribed_at"]  # none given: the import's time
    assert plain["subscribed_at"] == "2020-01-02T00:00:00"
    assert {r["lists"] for r in got.values()} == {"readers"}
    assert {r["joined_via"] for r in got.values()} == {"import"}
    assert count(store, Membership) == 3
    with store.begin() as c:
        assert (
            c.scalar(select(Subscriber.timezone).where(Subscriber.email == "back@example.com"))
            is None
        )
