"""Start-up stays quick: listing the commands loads no library, and `status` on an
up-to-date database loads neither Alembic nor the renderer nor the HTTP stack."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.providers import get_provider
from newsletter.sender import Sender
from newsletter.store import Store, direct, utcnow

from .mock_providers import FaultyFront, MockProvider
from .test_providers import setup

HEAVY = (
    "sqlalchemy",
    "alembic",
    "jinja2",
    "mjml",
    "rich",
    "bs4",
    "markdown_it",
    "yaml",
    "requests",
    "email_validator",
    "itsdangerous",
    "apscheduler",
    "flask",
    "werkzeug",
)

#: `status` draws its table with rich, and reading newsletter.toml checks the sender's
#: address with email_validator; it needs nothing else of these
NOT_FOR_STATUS = set(HEAVY) - {"rich", "email_validator"}

PROBE = """
import json, sys
from newsletter.cli import cli
try:
    cli(sys.argv[1:], prog_name="newsletter")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def run(args: list[str], cwd: Path) -> tuple[str, int, set[str]]:
    """The command's output (stdout, then stderr), its exit code and the top-level packages
    it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True
    )
    *err, last = proc.stderr.strip().splitlines()
    probe = json.loads(last)
    return proc.stdout + "".join(line + "\n" for line in err), probe["code"], set(probe["modules"])


def test_help_lists_every_command_without_loading_the_library(tmp_path: Path) -> None:
    out, code, modules = run(["--help"], tmp_path)
    assert code == 0
    for command in ("import", "queue", "status", "send-due", "subscribers", "preview"):
        assert f"  {command} " in out
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_status_on_a_current_database_reads_it_without_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0  # its newsletter.toml
    Store(f"sqlite:///{tmp_path / 'newsletter.db'}").close()  # created and migrated once
    before = (tmp_path / "newsletter.db").read_bytes()
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "Nothing queued yet" in out
    assert not modules & NOT_FOR_STATUS, sorted(modules & NOT_FOR_STATUS)
    assert (tmp_path / "newsletter.db").read_bytes() == before, "status changes nothing"
    assert [p.name for p in tmp_path.glob("newsletter.db*")] == ["newsletter.db"], "no -wal"


@pytest.fixture
def sent_in_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> Iterator[tuple[Store, MockProvider]]:
    """A queued series of 2 parts to 6 readers whose part 1 went out in batches of 2: the
    first batch's answer was lost (a proxy's 502 after Postmark accepted it), the others
    were sent; part 2 is scheduled a day later."""
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    mock = MockProvider("postmark")
    front = FaultyFront(mock, "502", times=1)
    try:
        cfg, store, _ = setup(tmp_path, mock, monkeypatch, 5, batch_size=2, max_error_rate=1.0)
        cfg.providers["postmark"].update(base_url=front.url, timeout=2.0, deadline=3.0)
        report = Sender(store, get_provider(cfg), cfg).send_due()
        assert (report.sent, report.unknown) == (4, 2)
        yield store, mock
    finally:
        front.stop()
        mock.stop()


def _table(out: str) -> list[list[str]]:
    """The rows of the status table, cell by cell."""
    return [
        [cell.strip() for cell in line.strip("│┃").replace("┃", "│").split("│")]
        for line in out.splitlines()
        if line.startswith(("│", "┃"))
    ]


def test_status_shows_parts_unknown_batches_and_senders_without_sqlalchemy(
    tmp_path: Path, sent_in_part: tuple[Store, MockProvider], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, code, modules = run(["status"], tmp_path)
    assert code == 0, out
    assert not modules & NOT_FOR_STATUS, sorted(modules & NOT_FOR_STATUS)
    header, *rows = _table(out)
    assert header[:6] == ["Issue", "List", "Mode", "State", "Part", "Scheduled"]
    assert [r[:11] for r in rows] == [
        ["calmer-mornings", "r", "broadcast", "active", "1", "0", "4", "0", "0", "0", "2"],
        ["calmer-mornings", "r", "broadcast", "active", "2", "6", "0", "0", "0", "0", "0"],
    ]
    part2 = datetime.strptime(rows[1][11], "%Y-%m-%d %H:%M UTC")
    assert rows[0][11] == "-" and part2 - utcnow() > timedelta(hours=23)
    assert "1 batch(es) are 'unknown'" in out
    assert re.search(r"batch \d+: calmer-mornings part 1, 2 messages via postmark, sent 20", out)
    assert re.search(rf"send-due on \S+ \(pid {os.getpid()}\): last alive 20", out)
    assert re.search(r"\n  20\S+ \S+ unknown: batch \d+: 2 messages may or may not", out)
    # Through the Store (the path of a database that is not up to date): the same text.
    monkeypatch.setattr(direct, "open_current", lambda url: None)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["status"], catch_exceptions=False).output == out


def test_status_of_one_issue_and_of_an_issue_not_queued(
    tmp_path: Path, sent_in_part: tuple[Store, MockProvider]
) -> None:
    out, code, modules = run(["status", "issues/calmer-mornings.md"], tmp_path)
    assert code == 0 and len(_table(out)) == 3 and "sqlalchemy" not in modules
    out, code, _ = run(["status", "evening-walks"], tmp_path)
    assert code == 1
    assert "no queued series for issue 'evening-walks'" in out
    assert "queued: calmer-mornings" in out


def test_a_file_that_is_no_database_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('database_url = "sqlite:///notes.txt"\n')
    (tmp_path / "notes.txt").write_text("shopping: milk, eggs\n" * 100)
    out, code, _ = run(["status"], tmp_path)
    assert code == 1 and "unexpected" not in out
    assert re.search(r"Error: cannot open the database sqlite:///\S+notes.txt: .*not a datab", out)
    assert (tmp_path / "notes.txt").read_text() == "shopping: milk, eggs\n" * 100


def test_a_new_database_is_still_migrated(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('database_url = "sqlite:///news.db"\n')
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "Nothing queued yet" in out
    assert "alembic" in modules
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "alembic" not in modules
