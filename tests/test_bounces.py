"""Bounces and complaints read from the sender's mailbox: delivery status notifications as
Postfix, Exim, Exchange (Microsoft 365) and Gmail write them, an ARF complaint and an
out-of-office reply (tests/bounces/*.eml), over a real IMAP connection to a small IMAP4rev1
server on 127.0.0.1 (tests/imapserver.py)."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.bounces import Kind, classify
from newsletter.cli import cli
from newsletter.config import Config, Imap, Security
from newsletter.mailbox import check_bounces
from newsletter.store import Store, utcnow

from . import imapserver
from .helpers import LIVE_SETTINGS, newsletter_process, stop_process
from .smtpserver import Server, make_cert, smtp_server
from .test_smtp import setup as smtp_setup

SAMPLES = Path(__file__).parent / "bounces"
MTAS = ["postfix", "exim", "exim-classic", "exchange", "gmail"]


@dataclass
class Sent:
    to: str
    raw: bytes
    message_id: str
    subject: str


def sample(name: str, sent: Sent) -> bytes:
    """A sample from tests/bounces about the message ``sent`` (its Message-ID, subject,
    address, and the message itself or its headers, as the MTA returns them)."""
    head = sent.raw.split(b"\r\n\r\n", 1)[0].decode()
    text = (SAMPLES / f"{name}.eml").read_text()
    for key, value in {
        "{{MESSAGE_ID}}": sent.message_id,
        "{{SUBJECT}}": sent.subject,
        "{{RECIPIENT}}": sent.to,
        "{{LOCAL}}": sent.to.partition("@")[0],
        "{{ORIGINAL_HEADERS}}": head.replace("\r\n", "\n"),
        "{{ORIGINAL}}": sent.raw.decode().replace("\r\n", "\n"),
    }.items():
        text = text.replace(key, value)
    return text.replace("\n", "\r\n").encode()


Sent4 = tuple[Config, Store, Server, dict[str, Sent]]


@contextmanager
def part_one_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str | None = None
) -> Iterator[Sent4]:
    """Part 1 of a series sent to 6 readers through the smtp provider."""
    with smtp_server(tmp_path) as server:
        cfg, store, sender = smtp_setup(tmp_path, server, monkeypatch, 6, db_url=db_url)
        assert sender.send_due().sent == 6
        out = {}
        for r in server.handler.received:
            msg = email.message_from_bytes(r.data, policy=email.policy.default)
            out[r.to] = Sent(r.to, r.data, str(msg["Message-ID"]), str(msg["Subject"]))
        cfg.sender_obj = sender  # type: ignore[attr-defined]
        try:
            yield cfg, store, server, out
        finally:
            sender.provider.close()


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent4]:
    with part_one_sent(tmp_path, monkeypatch) as s:
        yield s


@pytest.fixture
def sent_any_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[Sent4]:
    """The same on SQLite and PostgreSQL."""
    with part_one_sent(tmp_path, monkeypatch, db_url) as s:
        yield s


@pytest.mark.parametrize("mta", MTAS)
def test_dsn_from_each_mta_is_a_permanent_bounce_of_our_message(sent: Sent4, mta: str) -> None:
    _, _, _, messages = sent
    m = messages["reader1@example.com"]
    report = classify(sample(mta, m))
    assert report.kind is Kind.BOUNCE, report
    assert (m.message_id, int(re.findall(r"\.d(\d+)@", m.message_id)[0])) in (report.ours)
    assert "reader1@example.com" in report.recipients


@pytest.mark.parametrize(
    "name,kind",
    [
        ("arf-complaint", Kind.COMPLAINT),
        ("out-of-office", Kind.AUTO_REPLY),
        ("gmail-delayed", Kind.DELAY),
        ("reader-reply", Kind.OTHER),
    ],
)
def test_complaints_auto_replies_delays_and_replies(sent: Sent4, name: str, kind: Kind) -> None:
    _, _, _, messages = sent
    report = classify(sample(name, messages["reader2@example.com"]))
    assert report.kind is kind, report
    assert report.ours, "it names our message"


def imap_config(cfg: Config, port: int, cert: Path, **kw: object) -> None:
    cfg.bounces.imap = Imap(
        host="127.0.0.1",
        port=port,
        security=Security.TLS,
        user=imapserver.USER,
        ca_file=str(cert),
        timeout=10,
    )
    for k, v in kw.items():
        setattr(cfg.bounces.imap, k, v)


def fill_inbox(state: imapserver.State, messages: dict[str, Sent]) -> dict[str, int]:
    r = [messages[f"reader{i}@example.com"] for i in range(6)]
    stranger = Sent(
        "someone@example.net",
        b"From: a@calm-practice.org\r\nMessage-ID: <CAF+abc@mail.gmail.com>\r\n\r\nhi\r\n",
        "<CAF+abc@mail.gmail.com>",
        "Lunch?",
    )
    # a bounce naming a delivery id with a Message-ID that is not the one we sent
    guess = r[0].message_id.replace(".d", ".d9")
    forged = Sent(r[0].to, r[0].raw.replace(r[0].message_id.encode(), guess.encode()), guess, "x")
    return {
        "editor-deleted": state.deliver(b"Subject: old\r\n\r\nbye\r\n", flags={"\\Deleted"}),
        "postfix": state.deliver(sample("postfix", r[1])),
        "exchange": state.deliver(sample("exchange", r[2])),
        "arf": state.deliver(sample("arf-complaint", r[3])),
        "ooo": state.deliver(sample("out-of-office", r[4])),
        "reply": state.deliver(sample("reader-reply", r[5])),
        "stranger": state.deliver(sample("gmail", stranger)),
        "forged": state.deliver(sample("exim", forged)),
    }


@pytest.mark.parametrize("move", [True, False], ids=["MOVE", "COPY+STORE"])
def test_the_mailbox_suppresses_bounced_and_complained_and_later_parts_skip_them(
    tmp_path: Path, sent_any_db: Sent4, monkeypatch: pytest.MonkeyPatch, move: bool
) -> None:
    cfg, store, server, messages = sent_any_db
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("IMAP_PASSWORD", imapserver.PASSWORD)
    with imapserver.imap_server(cert, key, move=move) as (state, port):
        uids = fill_inbox(state, messages)
        imap_config(cfg, port, cert)
        report = check_bounces(store, cfg)
        assert (report.read, report.bounced, report.complained) == (7, 2, 1), report
        assert (report.auto_replies, report.suppressed, report.moved) == (1, 3, 4), report
        reasons = {s.email_key: s.reason for s in store.suppressions()}
        assert reasons == {
            "reader1@example.com": "bounced",
            "reader2@example.com": "bounced",
            "reader3@example.com": "complained",
        }
        assert {s.source for s in store.suppressions()} == {"imap"}
        processed = state.folders["Newsletter processed"]
        assert len(processed) == 4
        inbox = {m.uid: m for m in state.folders["INBOX"]}
        left = {uids["reply"], uids["stranger"], uids["forged"], uids["editor-deleted"]}
        if move:
            assert set(inbox) == left
        else:  # no MOVE, no UIDPLUS: copied, flagged, never a plain EXPUNGE
            assert set(inbox) >= left and all(
                "\\Deleted" in inbox[u].flags for u in set(inbox) - left
            )
        assert "\\Seen" not in inbox[uids["reply"]].flags, "a reader's reply stays unread"
        assert uids["editor-deleted"] in inbox, "nothing the editor deleted is expunged"
        assert not any(c.startswith("EXPUNGE") for c in state.commands)
        # read again: nothing new
        assert check_bounces(store, cfg).read == 0
    # part 2, a day later: the bounced and the complainant get nothing more
    sender = cfg.sender_obj  # type: ignore[attr-defined]
    later = sender.send_due(utcnow() + timedelta(days=1, hours=1))
    assert later.sent == 3
    got = server.handler.counts()
    assert {a: n for a, n in got.items() if n == 2} == {
        f"reader{i}@example.com": 2 for i in (0, 4, 5)
    }
    assert all(got[f"reader{i}@example.com"] == 1 for i in (1, 2, 3))


def test_delete_processed_only_when_asked(
    tmp_path: Path,
    sent: Sent4,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg, store, _, messages = sent
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("IMAP_PASSWORD", imapserver.PASSWORD)
    with imapserver.imap_server(cert, key) as (state, port):
        uids = fill_inbox(state, messages)
        imap_config(cfg, port, cert, delete_processed=True)
        assert check_bounces(store, cfg).moved == 4
        assert "Newsletter processed" not in state.folders
        assert uids["editor-deleted"] in {m.uid for m in state.folders["INBOX"]}
        assert len(state.folders["INBOX"]) == 4


def write_toml(tmp_path: Path, port: int, cert: Path, provider: str = "outbox") -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(
        LIVE_SETTINGS + f'[sending]\nprovider = "{provider}"\npoll_seconds = 1\n'
        '[bounces]\nevery = "1h"\n'
        f'[bounces.imap]\nhost = "127.0.0.1"\nport = {port}\nuser = "{imapserver.USER}"\n'
        f'ca_file = "{cert}"\ntimeout = 10\n'
    )
    return path


def test_bounces_check_command_and_its_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = make_cert(tmp_path)
    with imapserver.imap_server(cert, key) as (state, port):
        state.deliver(b"Subject: hello\r\n\r\nnot a bounce\r\n")
        path = write_toml(tmp_path, port, cert)
        monkeypatch.setenv("IMAP_PASSWORD", imapserver.PASSWORD)
        result = CliRunner().invoke(cli, ["--config", str(path), "bounces", "check"])
        assert result.exit_code == 0, result.output
        assert "1 new message(s): 0 bounce(s)" in result.output and "1 left" in result.output
        monkeypatch.setenv("IMAP_PASSWORD", "wrong")
        result = CliRunner().invoke(cli, ["--config", str(path), "bounces", "check"])
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert result.exit_code == 1 and len(lines) == 1, result.output
        assert "refused the login" in lines[0] and "wrong" not in lines[0]
    path.write_text(path.read_text().replace(f"port = {port}", "port = 9"))
    monkeypatch.setenv("IMAP_PASSWORD", imapserver.PASSWORD)
    result = CliRunner().invoke(cli, ["--config", str(path), "bounces", "check"])
    assert result.exit_code == 1 and "connection refused" in result.output, result.output


def test_newsletter_run_reads_the_mailbox(tmp_path: Path) -> None:
    """`newsletter run` reads the mailbox at start (then every [bounces] every)."""
    cert, key = make_cert(tmp_path)
    with imapserver.imap_server(cert, key) as (state, port):
        state.deliver(b"Subject: hello\r\n\r\nnot a bounce\r\n")
        write_toml(tmp_path, port, cert)
        run = newsletter_process("run", cwd=tmp_path, IMAP_PASSWORD=imapserver.PASSWORD)
        seen = []
        try:
            assert run.stdout is not None
            for line in run.stdout:
                seen.append(line)
                if "bounces:" in line:
                    break
        finally:
            out = stop_process(run)
        assert any("bounces: 1 new message(s)" in ln for ln in seen), "".join(seen) + out


def test_verp_matches_a_bounce_that_does_not_quote_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With [providers.smtp] verp, each message's envelope sender names it; a qmail bounce
    that returns nothing of the message is matched by the address it was sent to."""
    with smtp_server(tmp_path) as server:
        cfg, store, sender = smtp_setup(tmp_path, server, monkeypatch, 3, verp=True)
        assert sender.send_due().sent == 3
        sender.provider.close()
        got = {r.to: r for r in server.handler.received}
    envelope = got["reader1@example.com"].mail_from
    assert re.fullmatch(r"news\+nl-\d+-[0-9a-f]{10}@calm-practice\.org", envelope), envelope
    assert len({r.mail_from for r in got.values()}) == 3
    text = (SAMPLES / "qmail-verp.eml").read_text().replace("{{RECIPIENT}}", "reader1@example.com")
    bounce = text.replace("{{TO}}", envelope).replace("\n", "\r\n").encode()
    tag = re.findall(r"-([0-9a-f]{10})@", envelope)[0]
    forged = text.replace("{{TO}}", envelope.replace(tag, "0123456789"))
    cert, key = make_cert(tmp_path)
    monkeypatch.setenv("IMAP_PASSWORD", imapserver.PASSWORD)
    with imapserver.imap_server(cert, key) as (state, port):
        state.deliver(forged.replace("\n", "\r\n").encode())
        state.deliver(bounce)
        imap_config(cfg, port, cert)
        report = check_bounces(store, cfg)
    assert (report.read, report.bounced, report.moved, report.left) == (2, 1, 1, 1), report
    assert [s.email_key for s in store.suppressions()] == ["reader1@example.com"]
