"""Hostile input gets nowhere (issue 14): header injection, marker injection, leaked keys,
bad files. Each test drives the commands a user types (or the library under them) with
real SQLite, real .eml files and local servers speaking each provider's API."""

from __future__ import annotations

import base64
import csv
import json
import logging
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from newsletter.cli import cli
from newsletter.config import Config
from newsletter.providers import get_provider
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store
from newsletter.store.models import CampaignPart, Delivery, Subscriber

from .conftest import REPO
from .helpers import LIVE_SETTINGS
from .mock_providers import AKID, KEY, MockProvider
from .test_providers import ENV

ISSUE = REPO / "issues" / "calmer-mornings.md"
INJECTED = "Eve\r\nBcc: victim@evil.example"
#: every header the outbox writes; anything else in an .eml was injected
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "x-newsletter-part",
    "mime-version",
    "content-type",
}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def header_names(eml: bytes) -> list[str]:
    """The names of the top-level header fields, as a mail server would split them."""
    head = eml.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    return [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1] not in " \t"]


def eml_files(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("*.eml"))]


def count_subscribers(workdir: Path) -> int:
    store = Store(Config(root=workdir).db_url)
    with store.begin() as c:
        return int(c.scalar(select(func.count()).select_from(Subscriber)) or 0)


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


# --- 1. headers ------------------------------------------------------------------------


def test_injection_through_csv_add_and_front_matter_is_refused(workdir: Path) -> None:
    subscribers = write_rows(
        workdir / "subscribers.csv",
        [
            ["email", "first_name", "last_name"],
            ["ann@example.com", "Ann", "Lee"],
            ["eve@example.com", INJECTED, ""],  # a quoted field over two lines
            ["zed@example.com", "Zed", "x" * 20_000],
            ["bob@example.com", 'Bob "the" Builder', "Émile"],  # in the file: "Bob ""the"" Builder"
        ],
    )
    result = run("subscribers", "import", str(subscribers), "--list", "r")
    assert result.exit_code == 0, result.output
    assert f"{subscribers}:3: first name holds a control character (CR)" in result.output
    assert f"{subscribers}:5: last name is 20,000 characters long; the most is 100" in result.output
    assert "2 added" in result.output and "2 bad rows" in result.output

    for option, value in (
        ("--first-name", "Mal\nBcc: victim@evil.example"),
        ("--last-name", "Mal\x00"),
        ("--first-name", "y" * 20_000),
    ):
        result = run("subscribers", "add", "mal@example.com", option, value, "--list", "r")
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: {option}: ") and result.output.count("\n") == 1
        assert "Traceback" not in result.output and "unexpected" not in result.output
    assert count_subscribers(workdir) == 2, "nothing written by the refused commands"

    issue = workdir / "hello.md"
    text = ISSUE.read_text(encoding="utf-8")
    issue.write_text(
        text.replace(
            "list: readers\n",
            'list: r\nparts:\n  1:\n    subject: "Hello\\r\\nBcc: evil@example.net"\n',
        ),
        encoding="utf-8",
    )
    for command in ("check", "queue"):
        args = [command, str(issue)] + (["--list", "r"] if command == "queue" else [])
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert f"{issue}:" in result.output and "field 'parts.1.subject'" in result.output
        assert "control character (CR)" in result.output
    titled = workdir / "titled.md"
    titled.write_text(
        text.replace(
            "title: Calmer Mornings Are Built the Night Before",
            'title: "Calmer\\nBcc: evil@example.net"',
        ),
        encoding="utf-8",
    )
    result = run("split", str(titled))
    assert result.exit_code == 1 and "field 'title'" in result.output, result.output

    # What was imported goes out with the names intact and no header of anyone's making.
    assert run("queue", str(ISSUE), "--list", "r").exit_code == 0
    result = run("send-due")
    assert result.exit_code == 0, result.output
    files = eml_files(workdir / "outbox")
    assert len(files) == 2
    for eml in files:
        assert set(header_names(eml)) <= EXPECTED_HEADERS
        assert b"Bcc" not in eml
    to = sorted(str(message_from_bytes(e, policy=policy.default)["To"]) for e in files)
    assert to == ['"Bob \\"the\\" Builder Émile" <bob@example.com>', "Ann Lee <ann@example.com>"]


@pytest.fixture(params=["outbox", *ENV])
def channel(request: pytest.FixtureRequest) -> Iterator[MockProvider | None]:
    if request.param == "outbox":
        yield None
        return
    server = MockProvider(request.param)
    yield server
    server.stop()


#: fields of each provider's request that are message bodies, not headers
BODY_FIELDS = {
    "HtmlBody",
    "TextBody",
    "html",
    "text",
    "value",
    "Html",
    "Text",
    "ReplacementTemplateData",
    "TemplateData",
    "recipient-variables",
}


def header_strings(body: bytes) -> Iterator[tuple[str, str]]:
    """(field, value) of every string in a request that is not a message body."""

    def walk(key: str, value: object) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(str(k), v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(key, v)
        elif isinstance(value, str) and key not in BODY_FIELDS:
            yield key, value

    try:
        data = json.loads(body)
    except ValueError:
        yield from ((k, v) for k, v in parse_qsl(body.decode()) if k not in BODY_FIELDS)
        return
    yield from walk("", data)


def test_bad_values_already_stored_never_become_headers(
    workdir: Path, channel: MockProvider | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name written by an older version, a sender name and a stored subject with CR/LF:
    no extra header in the .eml, no CR or LF in any header field of any provider's JSON."""
    cfg = Config(root=workdir)
    cfg.sender.email = "news@calm.example.org"
    cfg.sender.name = "Calm News\r\nBcc: evil@example.net"
    if channel is not None:
        monkeypatch.setenv(ENV[channel.name], KEY)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
        cfg.sending.provider = channel.name
        cfg.providers = {channel.name: {"base_url": channel.url, "backoff": 0.01}}
        if channel.name == "mailgun":
            cfg.providers["mailgun"]["domain"] = "mg.example.org"
    store = Store(cfg.db_url)
    from newsletter.store.subscribers import add_subscriber

    add_subscriber(store, "eve@example.com", first_name="Eve", list_name="r")
    add_subscriber(store, "ann@example.com", first_name="Ann", last_name="Lee", list_name="r")
    queue_issue(store, cfg, ISSUE, list_name="r", start="now", every="1d")
    with store.begin() as c:
        c.execute(
            update(Subscriber)
            .where(Subscriber.email == "eve@example.com")
            .values(first_name=INJECTED)
        )
        c.execute(
            update(CampaignPart).values(subject="Hello\r\nBcc: evil@example.net\r\nX-Evil: 1")
        )
    report = Sender(store, get_provider(cfg), cfg).send_due()
    assert report.sent == 2, report.summary()
    if channel is None:
        for eml in eml_files(cfg.outbox_path):
            assert set(header_names(eml)) <= EXPECTED_HEADERS
            message = message_from_bytes(eml, policy=policy.default)
            assert str(message["Subject"]) == "Hello Bcc: evil@example.net X-Evil: 1"
            assert message["From"].addresses[0].display_name == "Calm News Bcc: evil@example.net"
        return
    assert channel.bodies
    seen = set()
    for body in channel.bodies:
        for key, value in header_strings(body):
            seen.add(key)
            assert "\r" not in value and "\n" not in value, (key, value)
    assert seen & {"Subject", "subject"}, seen


def test_a_first_name_that_is_a_marker_stays_literal(workdir: Path) -> None:
    assert (
        run(
            "subscribers",
            "add",
            "m@example.com",
            "--first-name",
            "%%NL_UNSUBSCRIBE_URL%%",
            "--list",
            "r",
        ).exit_code
        == 0
    )
    assert (
        run(
            "subscribers",
            "add",
            "n@example.com",
            "--first-name",
            "<b>%%NL_FIRST_NAME%%</b>",
            "--list",
            "r",
        ).exit_code
        == 0
    )
    assert run("queue", str(ISSUE), "--list", "r").exit_code == 0
    assert run("send-due").exit_code == 0
    by_to = {}
    for eml in eml_files(workdir / "outbox"):
        message = message_from_bytes(eml, policy=policy.default)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        by_to[message["To"].addresses[0].addr_spec] = (text, html)
    text, html = by_to["m@example.com"]
    assert "Hi %%NL_UNSUBSCRIBE_URL%%," in text
    assert "Hi %%NL_UNSUBSCRIBE_URL%%," in html
    footer_links = text.count("/u/") - text.count("?preferences")
    assert footer_links == 1, "only the footer's unsubscribe link"
    text, html = by_to["n@example.com"]
    assert "Hi <b>%%NL_FIRST_NAME%%</b>," in text
    assert "Hi &lt;b&gt;%%NL_FIRST_NAME%%&lt;/b&gt;," in html


# --- 4. secrets ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["postmark", "sendgrid", "resend", "mailgun"])
def test_a_key_with_a_trailing_newline_never_shows(
    workdir: Path, name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The key as read from a secrets file (ending in a newline) works, and when the
    provider refuses it nothing the user sees or the database keeps holds the key."""
    caplog.set_level(logging.DEBUG)
    server = MockProvider(name)
    try:
        monkeypatch.setenv(ENV[name], KEY + "\n")
        (workdir / "newsletter.toml").write_text(
            LIVE_SETTINGS + f'[sending]\nprovider = "{name}"\n'
            f'[providers.{name}]\nbase_url = "{server.url}"\nbackoff = 0.01\n'
            + ('domain = "mg.calm-practice.org"\n' if name == "mailgun" else ""),
            encoding="utf-8",
        )
        result = run("test-send", str(ISSUE), "--to", "me@example.com", "--part", "1")
        assert result.exit_code == 0, result.output  # stripped when read: the key works
        assert len(server.received) == 1
        server.key = "a-key-the-provider-expects-instead"  # now every request is refused
        outputs = [run("test-send", str(ISSUE), "--to", "me@example.com").output]
        assert run("subscribers", "add", "a@example.com", "--list", "r").exit_code == 0
        assert run("queue", str(ISSUE), "--list", "r").exit_code == 0
        outputs += [run("send-due").output, run("status").output]
        assert "401" in outputs[0] or "403" in outputs[0], outputs[0]
    finally:
        server.stop()
    store = Store(Config(root=workdir).db_url)
    with store.begin() as c:
        rows = [str(e) for (e,) in c.execute(select(Delivery.error)) if e]
        rows += [e.message for e in store.events(100)]
    assert rows, "the refusals were recorded"
    everything = "\n".join(outputs + rows + [caplog.text])
    for form in key_forms(KEY):
        assert form not in everything, form


def key_forms(key: str) -> list[str]:
    """The key raw and URL-encoded, and the middle of its base64 inside HTTP Basic auth."""
    basic = base64.b64encode(f"api:{key}\n".encode()).decode()
    return [key, quote(key + "\n"), key[3:-3], basic[8:-8]]


def test_a_key_with_whitespace_inside_is_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "pm-1234 5678-abcdefgh")
    (workdir / "newsletter.toml").write_text('[sending]\nprovider = "postmark"\n')
    result = run("test-send", str(ISSUE), "--to", "me@example.com")
    assert result.exit_code == 1
    assert result.output.startswith("Error: $POSTMARK_SERVER_TOKEN holds whitespace inside")
    assert "5678" not in result.output and result.output.count("\n") == 1


@pytest.mark.parametrize(
    "variable",
    [
        "POSTMARK_WEBHOOK_AUTH",
        "SENDGRID_WEBHOOK_PUBLIC_KEY",
        "MAILGUN_WEBHOOK_SIGNING_KEY",
        "RESEND_WEBHOOK_SECRET",
    ],
)
def test_webhook_secrets_never_show_before_a_webhook_arrives(
    variable: str,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A webhook's key is read when the provider first calls; every command (and the web
    app) knows it from the start, so an error or a log line never shows it."""
    import uuid

    key = f"whk{uuid.uuid4().hex}"  # new to this process: nothing registered it before
    monkeypatch.setenv(variable, key + "\n")
    result = CliRunner().invoke(cli, ["split", f"{key}.md"])
    assert result.exit_code == 1 and "no such file" in result.output, result.output
    assert key not in result.output and "***.md" in result.output
    logging.getLogger("newsletter.test").warning("the webhook said %s", key)
    assert "the webhook said ***" in caplog.text and key not in caplog.text


def test_every_form_of_a_secret_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    from newsletter import secrets

    key = "sk-live-9a8b7c6d5e4f3a2b1c0d"
    secrets.register(key + "\n")
    texts = [
        f"InvalidHeader: {key!r}",
        f"InvalidHeader: {key + chr(10)!r}",
        json.dumps({"token": key + "\n"}),
        "https://api.example.com/?key=" + quote(key + "\n"),
        "https://api.example.com/?key=" + quote_plus(key),
    ]
    texts += [
        "Authorization: Basic " + base64.b64encode(f"{user}{key}{end}".encode()).decode()
        for user in ("api:", "user:", "", "a", "ab")
        for end in ("", "\n")
    ]
    texts.append(base64.urlsafe_b64encode(f"api:{key}".encode()).decode())
    for text in texts:
        cleaned = secrets.scrub(text)
        assert "***" in cleaned, text
        for form in key_forms(key):
            assert form not in cleaned, (text, cleaned)
    logging.getLogger("newsletter.test").warning("refused %s", texts[0])
    assert "refused" in caplog.text and key not in caplog.text
    assert secrets.scrub("nothing secret here") == "nothing secret here"


# --- 6. bad files and paths: one line, exit 1, nothing written -------------------------


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "unexpected" not in result.output and "Traceback" not in result.output
    return result.output


def test_a_200000_character_csv_field(workdir: Path) -> None:
    path = workdir / "big.csv"
    path.write_text(
        "email,first_name\nann@example.com,Ann\n"
        f'bob@example.com,"{"b" * 200_000}"\ncat@example.com,Cat\n',
        encoding="utf-8",
    )
    output = one_line_error(run("subscribers", "import", str(path)))
    assert f"{path}:3: a field is longer than" in output
    assert count_subscribers(workdir) == 0


def test_bad_utf8_is_reported_at_the_files_line(workdir: Path) -> None:
    lines = [b"email,first_name,notes"]
    lines += [f"reader{i}@example.com,Reader,plain".encode() for i in range(1, 1999)]
    lines[500] = b'reader500@example.com,Reader,"a note\nover two lines"'  # lines 501-502
    lines.append("zoë@example.com,Zoë,fine".encode())  # line 2,001
    lines.append(b"bad@example.com,Caf\xe9,latin-1")  # line 2,002
    lines.append(b"last@example.com,Last,fine")
    path = workdir / "mixed.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    output = one_line_error(run("subscribers", "import", str(path), "--list", "r"))
    assert f"{path}:2002: is not UTF-8 text (byte 0xe9)" in output
    assert count_subscribers(workdir) == 0


def test_utf16_without_a_byte_order_mark_is_named(workdir: Path) -> None:
    path = workdir / "excel.csv"
    path.write_bytes("email,first_name\r\nann@example.com,Ann\r\n".encode("utf-16-le"))
    output = one_line_error(run("subscribers", "import", str(path)))
    assert "UTF-16" in output and "binary" not in output and "CSV UTF-8" in output


def test_only_the_delimiter_is_guessed(workdir: Path) -> None:
    """csv.Sniffer took a single quote for the quote character here and mangled Bob."""
    path = workdir / "quotes.csv"
    path.write_text(
        'email,name\nbob@example.com,"Bob ""the"""\n'
        "cat@example.com,'Cat'\nd@example.com,'Dee'\n",
        encoding="utf-8",
    )
    assert run("subscribers", "import", str(path)).exit_code == 0
    exported = list(csv.DictReader(run("subscribers", "export").stdout.splitlines()))
    names = {r["email"]: (r["first_name"], r["last_name"]) for r in exported}
    assert names["bob@example.com"] == ("Bob", '"the"')
    assert names["cat@example.com"] == ("'Cat'", "")


def test_a_typo_in_the_sqlite_path_creates_nothing(workdir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent-dir"
    (workdir / "newsletter.toml").write_text(f'database_url = "sqlite:///{missing}/x.db"\n')
    output = one_line_error(run("subscribers", "add", "ann@example.com"))
    assert "does not exist" in output and "nonexistent-dir" in output
    assert not missing.exists()


def test_a_writer_killed_mid_write_leaves_no_tmp_file(workdir: Path) -> None:
    """A real process is killed (SIGKILL) between writing a message and renaming it; the
    next run removes what it left and sends every message once."""
    (workdir / "newsletter.toml").write_text("[sending]\nlease_seconds = 0\n")
    for i in range(3):
        assert run("subscribers", "add", f"r{i}@example.com", "--list", "r").exit_code == 0
    assert run("queue", str(ISSUE), "--list", "r").exit_code == 0
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal\n"
            "os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
            "from newsletter.cli import main\n"
            "main()",
            "send-due",
        ],
        cwd=workdir,
        capture_output=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    outbox = workdir / "outbox"
    assert [p.name for p in outbox.iterdir() if p.suffix == ".tmp"], "the kill left one"
    result = run("send-due")
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in outbox.iterdir()) == [".eml"] * 3


# --- fuzz ------------------------------------------------------------------------------

#: text as hostile as it gets: control characters, line breaks, quotes, markers, non-ASCII
HOSTILE_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(["\r", "\n", "\r\n", "\x00", "\t", "\x85", "\u2028", '"', "'", "\\"]),
        st.sampled_from(["%%NL_FIRST_NAME%%", "%%NL_UNSUBSCRIBE_URL%%", "Bcc: x@evil.example"]),
        st.sampled_from(["<b>", "{{ 7*7 }}", "=?utf-8?q?x?=", ":", "@", ",", ";", "#", "&", "*"]),
        st.sampled_from(["a" * 120, "word " * 30]),
    ),
    max_size=40,
).map("".join)


_RENDERED: list[tuple[str, str]] = []


def rendered() -> tuple[str, str]:
    """The sample issue's first part, rendered once (MJML is the slow step)."""
    from newsletter.pipeline import render_issue

    if not _RENDERED:
        _, parts = render_issue(ISSUE, Config(root=REPO))
        _RENDERED.append((parts[0].html, parts[0].text))
    return _RENDERED[0]


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One database for every example (creating one is the slow part)."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'n.db'}")
    yield store
    store.engine.dispose()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: it can take minutes
)
@given(
    first=HOSTILE_TEXT,
    last=HOSTILE_TEXT,
    title=HOSTILE_TEXT,
    subject=HOSTILE_TEXT,
    sender=HOSTILE_TEXT,
    front=HOSTILE_TEXT,
)
def test_fuzz_import_render_outbox(
    tmp_path: Path,
    fuzz_store: Store,
    first: str,
    last: str,
    title: str,
    subject: str,
    sender: str,
    front: str,
) -> None:
    """Random names, subjects and front matter through the CSV import, the issue file,
    the series and the outbox: only the project's own errors, and only the headers the
    outbox writes, once each, to the address it was given."""
    from newsletter.errors import NewsletterError
    from newsletter.headers import MAX_TEXT, clean
    from newsletter.i18n import strip_invisible
    from newsletter.issuefile import parse_issue
    from newsletter.providers import Batch, Recipient
    from newsletter.providers.outbox import OutboxProvider
    from newsletter.render import fill
    from newsletter.series import build_series
    from newsletter.store.subscribers import import_csv

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    address = f"{folder.name}@example.com".lower()
    path = write_rows(
        folder / "s.csv", [["email", "first_name", "last_name"], [address, first, last]]
    )
    try:
        result = import_csv(fuzz_store, path, list_name="r")
        assert result.added + len(result.bad) == 1
    except NewsletterError:
        pass
    with fuzz_store.begin() as c:
        stored = c.execute(
            select(Subscriber.first_name, Subscriber.last_name).where(Subscriber.email == address)
        ).all()
    for name in (n for row in stored for n in row):
        assert len(name) <= 100 and not any(ch in name for ch in "\r\n\x00")

    body = ISSUE.read_text(encoding="utf-8").split("---\n", 2)[2]
    issue_text = (
        "---\n"
        + yaml.safe_dump({"title": title or "T", "parts": {1: {"subject": subject or "S"}}})
        + f"subtitle: {front}\n---\n{body}"
    )
    subjects = [subject]
    try:
        series = build_series(parse_issue(issue_text, folder / "fuzz.md"))
        subjects = [p.subject for p in series.parts]
    except NewsletterError:
        pass

    html, text = rendered()
    filled_html, filled_text = fill(
        html, text, first_name=first, unsubscribe_url="https://x.example/u/t"
    )
    assert filled_html.count("https://x.example/u/t") == html.count("%%NL_UNSUBSCRIBE_URL%%")
    outbox = OutboxProvider(folder / "outbox")
    batch = Batch(
        key="k",
        subject=subjects[0],
        html=html,
        text=text,
        from_email="news@calm-mornings.com",
        from_name=sender,
        recipients=[Recipient(1, "ann@example.com", first, last, "https://x.example/u/t")],
        tag=title,
    )
    assert [r.status for r in outbox.send_batch(batch)] == ["sent"]
    eml = (folder / "outbox" / "0000000001.eml").read_bytes()
    names = header_names(eml)
    assert set(names) <= EXPECTED_HEADERS and len(names) == len(set(names)), names
    message = message_from_bytes(eml, policy=policy.default)
    assert [a.addr_spec for a in message["To"].addresses] == ["ann@example.com"]
    assert [a.addr_spec for a in message["From"].addresses] == ["news@calm-mornings.com"]
    assert all(len(line) <= 998 for line in eml.split(b"\r\n\r\n", 1)[0].split(b"\r\n"))
    # a longer subject is cut to RFC 5322's line; invisible characters (soft hyphens,
    # zero-width spaces) never reach a subject line
    written = clean(strip_invisible(subjects[0]), MAX_TEXT)
    assert " ".join(str(message["Subject"]).split()) == " ".join(written.split())
