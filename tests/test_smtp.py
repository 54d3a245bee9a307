"""The smtp provider against a real SMTP server on 127.0.0.1 (aiosmtpd: STARTTLS with a
self-signed certificate, AUTH), with the faults a mail server really has."""

from __future__ import annotations

import email.policy
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from newsletter.cli import cli
from newsletter.config import Config, Security, load_config
from newsletter.errors import ConfigError
from newsletter.providers import get_provider
from newsletter.reconcile import reconcile
from newsletter.schedule import queue_issue
from newsletter.sender import Sender
from newsletter.store import Store, ledger, utcnow
from newsletter.store.models import Delivery
from newsletter.store.subscribers import import_csv

from .conftest import REPO
from .helpers import LIVE_SETTINGS, write_csv
from .smtpserver import PASSWORD, USER, Server, smtp_server

SLUG = "calmer-mornings"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with smtp_server(tmp_path) as s:
        yield s


def configure(tmp_path: Path, server: Server, **smtp: object) -> Config:
    cfg = Config(root=tmp_path)
    cfg.sender.email = "news@calm-practice.org"
    cfg.sending.provider = "smtp"  # type: ignore[assignment]
    cfg.smtp.host = "127.0.0.1"
    cfg.smtp.port = server.port
    cfg.smtp.username = USER
    cfg.smtp.ca_file = str(server.cert or "")
    cfg.smtp.security = Security.STARTTLS if server.cert else Security.NONE
    cfg.smtp.timeout = 10.0
    for k, v in smtp.items():
        setattr(cfg.smtp, k, v)
    return cfg


def setup(
    tmp_path: Path,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    n: int,
    extra: list[str] | None = None,
    db_url: str | None = None,
    **smtp: object,
) -> tuple[Config, Store, Sender]:
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    cfg = configure(tmp_path, server, **smtp)
    if db_url:
        cfg.database_url = db_url
    store = Store(cfg.db_url)
    rows = [["email", "first_name"]]
    rows += [[f"reader{i}@example.com", f"R{i}"] for i in range(n)]
    rows += [[a, "X"] for a in extra or []]
    import_csv(store, write_csv(tmp_path / "s.csv", rows), list_name="r")
    queue_issue(store, cfg, REPO / "issues" / f"{SLUG}.md", list_name="r", start="now", every="1d")
    return cfg, store, Sender(store, get_provider(cfg), cfg)


def states(store: Store) -> Counter[str]:
    with store.begin() as c:
        return Counter(c.scalars(select(Delivery.state).where(Delivery.part == 1)))


def test_a_series_to_2000_subscribers_each_message_once(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 2000, connections=4, batch_size=100)
    try:
        report = sender.send_due()
    finally:
        sender.provider.close()
    assert report.sent == 2000 and report.failed == report.unknown == 0, report
    counts = server.handler.counts()
    assert len(counts) == 2000 and set(counts.values()) == {1}, "each message exactly once"
    assert states(store) == {"sent": 2000}
    # persistent connections: far fewer sessions than messages, one login each
    assert server.handler.logins == 4
    # what a reader gets: our Message-ID (as recorded), one-click unsubscribe, text first
    got = next(r for r in server.handler.received if r.to == "reader7@example.com")
    msg = email.message_from_bytes(got.data, policy=email.policy.default)
    with store.begin() as c:
        stored = c.scalar(
            select(Delivery.message_id).where(Delivery.message_id == msg["Message-ID"])
        )
    assert stored == msg["Message-ID"] and "@calm-practice.org>" in stored
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8025/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Newsletter-Part"] == f"{SLUG}-part-1"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in msg.iter_parts())
    assert "Hi R7," in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert got.mail_from == "news@calm-practice.org"
    assert sender.send_due().sent == 0, "nothing twice"


def test_421_mid_batch_reconnects_nothing_lost_nothing_doubled(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.handler.close_after = 7
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 30, batch_size=30)
    report = sender.send_due()
    sender.provider.close()
    assert report.sent == 30 and report.unknown == report.failed == 0
    assert set(server.handler.counts().values()) == {1} and len(server.handler.counts()) == 30
    assert server.handler.connections >= 5  # 7 messages a connection, then 421


def test_rate_limit_spreads_the_messages_over_all_connections(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rate_limit = 20: 11 messages over 2 connections take at least half a second (a lower
    bound: a busy machine only makes it longer)."""
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 11, connections=2, rate_limit=20.0)
    assert sender.send_due().sent == 11
    sender.provider.close()
    times = sorted(r.at for r in server.handler.received)
    assert times[-1] - times[0] >= 0.45


def test_550_for_one_recipient_is_suppressed_and_gets_no_later_part(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    bad = "gone@example.com"
    server.handler.reject[bad] = ["550 5.1.1 <gone@example.com>: Recipient address rejected"]
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 10, extra=[bad], db_url=db_url)
    report = sender.send_due()
    assert report.sent == 10 and report.failed == 1
    assert bad not in server.handler.counts()
    assert [s.email_key for s in store.suppressions()] == [bad]
    sup = store.suppressions()[0]
    assert sup.reason == "rejected" and sup.source == "smtp" and "5.1.1" in sup.detail
    # part 2, a day later: the suppressed address is skipped, the others get it once
    later = sender.send_due(utcnow() + timedelta(days=1, hours=1))
    sender.provider.close()
    assert later.sent == 10 and bad not in server.handler.counts()
    assert set(server.handler.counts().values()) == {2}


def test_a_relay_refusal_suppresses_nobody(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """550 5.7.1 "relaying denied" is our configuration's problem, not the reader's."""
    who = "reader3@example.com"
    server.handler.reject[who] = ["550 5.7.1 Relaying denied"]
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 10)
    report = sender.send_due()
    sender.provider.close()
    assert report.sent == 9 and report.retrying == 1
    assert store.suppressions() == []


def test_452_too_many_recipients_is_sent_later_once(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = "reader4@example.com"
    server.handler.reject[who] = ["452 4.5.3 Too many recipients"]
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 12)
    report = sender.send_due()
    assert report.sent == 11 and report.retrying == 1 and report.failed == report.unknown == 0
    assert server.handler.counts()[who] == 0
    later = sender.send_due(utcnow() + timedelta(minutes=2))  # a minute later, at the least
    sender.provider.close()
    assert later.sent == 1
    counts = server.handler.counts()
    assert counts[who] == 1 and set(counts.values()) == {1} and len(counts) == 12
    assert states(store) == {"sent": 12}


def _settle_by_hand(cfg: Config, store: Store) -> tuple[int, str]:
    """What the editor sees from `newsletter reconcile`, and the batch it names."""
    results = reconcile(store, cfg)
    assert len(results) == 1 and results[0].problem
    return results[0].batch_id, results[0].problem


@pytest.mark.parametrize("fault", ["drop_after_dot", "stall_after_dot"])
def test_connection_lost_after_the_final_dot_leaves_that_message_unknown(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch, fault: str, db_url: str
) -> None:
    who = "reader5@example.com"
    getattr(server.handler, fault).add(who)
    # (the provider's own answer timeout; the test itself waits on no clock)
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 12, db_url=db_url, timeout=1.0)
    report = sender.send_due()
    sender.provider.close()
    assert report.sent == 11 and report.unknown == 1 and report.failed == 0
    counts = server.handler.counts()
    assert set(counts.values()) == {1} and len(counts) == 12, "the server got every one once"
    assert states(store) == {"sent": 11, "unknown": 1}
    with store.begin() as c:
        error = c.scalars(select(Delivery.error).where(Delivery.state == "unknown")).one()
    assert "after the whole message was sent" in (error or "")
    # never resent by itself
    assert sender.send_due(utcnow() + timedelta(minutes=30)).sent == 0
    assert server.handler.counts()[who] == 1
    batch_id, problem = _settle_by_hand(cfg, store)
    assert f"newsletter resume {SLUG} --batch {batch_id} --were-sent" in problem
    # the editor finds it in the Sent folder: marked sent, nothing doubled
    assert ledger.settle(store, batch_id, sent=None) == (1, 0)
    assert states(store) == {"sent": 12}
    assert sender.send_due(utcnow() + timedelta(minutes=30)).sent == 0
    assert server.handler.counts()[who] == 1


def test_resend_after_an_unknown_message_sends_only_that_one(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    who = "reader2@example.com"
    server.handler.drop_after_dot.add(who)
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 6)
    assert sender.send_due().unknown == 1
    batch_id, _ = _settle_by_hand(cfg, store)
    assert ledger.resend(store, batch_id) == 1
    again = sender.send_due()
    sender.provider.close()
    assert again.sent == 1 and server.handler.counts()[who] == 2  # the editor's decision
    assert sum(server.handler.counts().values()) == 7


def test_a_stall_before_the_end_of_data_is_not_unknown(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer to RCPT (nothing of the message was sent yet): after the timeout the
    message is sent on a new connection, never left unknown; a 421 on MAIL likewise."""
    server.handler.stall_at_rcpt.add("reader1@example.com")
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 4, timeout=1.0)
    server.handler.close_after = 2
    report = sender.send_due()
    sender.provider.close()
    assert report.sent == 4 and report.unknown == report.failed == 0, report
    counts = server.handler.counts()
    assert set(counts.values()) == {1} and len(counts) == 4


def test_server_down_fails_the_batch_and_pauses_nothing_silently(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = setup(tmp_path, server, monkeypatch, 6)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    sender.provider = get_provider(cfg)
    report = sender.send_due()
    assert report.sent == 0 and report.unknown == 0
    assert server.handler.received == []
    with store.begin() as c:
        errors = set(c.scalars(select(Delivery.error).where(Delivery.part == 1)))
    assert any("bad credentials" in (e or "") for e in errors), errors


#: the domain's records in order: providers check then reports the server alone
RECORDS = {
    ("calm-practice.org", "TXT"): ["v=spf1 ip4:127.0.0.1 ~all"],
    ("mail._domainkey.calm-practice.org", "TXT"): ["v=DKIM1; k=rsa; p=MIIBIjANBg" + "A" * 300],
    ("_dmarc.calm-practice.org", "TXT"): ["v=DMARC1; p=none"],
}


def write_toml(tmp_path: Path, server: Server, security: str = "starttls") -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(
        LIVE_SETTINGS + '[sending]\nprovider = "smtp"\n'
        f'[providers.smtp]\nhost = "127.0.0.1"\nport = {server.port}\n'
        f'security = "{security}"\nusername = "{USER}"\n'
        f'ca_file = "{server.cert or ""}"\ntimeout = 10\n'
        '[dns]\nnameserver = "127.0.0.1:9"\ndkim_selectors = ["mail"]\n'
    )
    return path


def providers_check(path: Path, monkeypatch: pytest.MonkeyPatch, password: str) -> tuple[int, str]:
    from .dnsserver import dns_server

    monkeypatch.setenv("SMTP_PASSWORD", password)
    with dns_server(RECORDS) as ns:
        monkeypatch.setenv("NEWSLETTER_DNS_NAMESERVER", ns)
        result = CliRunner().invoke(cli, ["--config", str(path), "providers", "check"])
    return result.exit_code, result.output


def test_providers_check_without_starttls_is_a_clear_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_server(tmp_path, tls=False, auth=False) as plain:
        path = write_toml(tmp_path, plain)
        code, out = providers_check(path, monkeypatch, PASSWORD)
        assert code == 1, out
        problems = [ln for ln in out.splitlines() if "problem:" in ln]
        assert len(problems) == 1 and "does not offer STARTTLS" in problems[0], out
        assert "nothing was sent" in problems[0] and "Traceback" not in out
        assert plain.handler.received == [] and plain.handler.logins == 0
        assert PASSWORD not in out


def test_providers_check_says_what_the_server_offers(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, server)
    code, out = providers_check(path, monkeypatch, PASSWORD)
    assert f"127.0.0.1:{server.port} offers: STARTTLS (in use), AUTH" in out, out
    assert "SIZE 10 MB" in out and f"logged in as {USER}" in out
    assert code == 0 and "Provider 'smtp': ready." in out, out
    assert server.handler.logins == 1 and server.handler.received == []
    code, out = providers_check(path, monkeypatch, "not-the-password")
    assert code == 1 and "(bad credentials)" in out and "not-the-password" not in out, out


def test_providers_check_tls_error_is_one_line(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, server)
    path.write_text(path.read_text().replace(f'ca_file = "{server.cert}"', 'ca_file = ""'))
    code, out = providers_check(path, monkeypatch, PASSWORD)
    assert code == 1 and "TLS with 127.0.0.1" in out and "certificate was refused" in out, out
    assert server.handler.logins == 0


def test_providers_check_refused_connection(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, server)
    path.write_text(path.read_text().replace(f"port = {server.port}", "port = 9"))
    code, out = providers_check(path, monkeypatch, PASSWORD)
    assert code == 1 and "cannot connect to 127.0.0.1:9: connection refused" in out, out


def test_smtp_settings_are_checked_when_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text('[providers.smtp]\nhost = "smtp.gmail.com"\nsecurity = "ssl"\n')
    with pytest.raises(ConfigError, match="providers.smtp.security': expected one of starttls"):
        load_config(path)
    path.write_text("[providers.smtp]\nport = 587\n")
    with pytest.raises(ConfigError, match=r"\[providers.smtp\] needs 'host'"):
        load_config(path)
    path.write_text('[providers.smtp]\nhost = "smtp.gmail.com"\nconnections = 0\n')
    with pytest.raises(ConfigError, match="connections': expected a number of at least 1"):
        load_config(path)


def test_a_login_without_the_password_is_refused(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=r"\$SMTP_PASSWORD"):
        get_provider(configure(tmp_path, server))


# --- the domain check names the records of common mail hosts ------------------------------

DOMAIN = "calm-practice.org"


def domain_check(tmp_path: Path, host: str, records: dict[tuple[str, str], list[str]]) -> str:
    from .dnsserver import dns_server

    with dns_server(records) as ns:
        path = tmp_path / "newsletter.toml"
        path.write_text(
            LIVE_SETTINGS + '[sending]\nprovider = "smtp"\n'
            f'[providers.smtp]\nhost = "{host}"\n[dns]\nnameserver = "{ns}"\n'
        )
        result = CliRunner().invoke(cli, ["--config", str(path), "domain", "check"])
    return result.output


def test_google_workspace_records(tmp_path: Path) -> None:
    out = domain_check(
        tmp_path,
        "smtp-relay.gmail.com",
        {
            (DOMAIN, "TXT"): ["v=spf1 include:_spf.google.com ~all"],
            (f"google._domainkey.{DOMAIN}", "TXT"): ["v=DKIM1; k=rsa; p=MIIBIjANBg" + "A" * 300],
            (f"_dmarc.{DOMAIN}", "TXT"): ["v=DMARC1; p=none"],
        },
    )
    assert f"Domain {DOMAIN} for smtp: ready." in out, out
    assert "DKIM is signed by Google Workspace" in out


def test_microsoft_365_records_missing_are_named(tmp_path: Path) -> None:
    out = domain_check(tmp_path, "smtp.office365.com", {(DOMAIN, "TXT"): ["v=spf1 mx ~all"]})
    assert "does not include the provider: add include:spf.protection.outlook.com" in out, out
    assert f"selector1._domainkey.{DOMAIN}" in out
    assert "DKIM is signed by Microsoft 365, not by newsletter" in out


def test_a_generic_relay_needs_an_spf_record_that_allows_it(tmp_path: Path) -> None:
    out = domain_check(tmp_path, "mail.host-europe.example", {})
    assert f"no single SPF record at {DOMAIN}" in out and "mail.host-europe.example" in out, out


def test_proofs_go_out_over_smtp_with_verp_on(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsletter test-send`: messages outside the ledger (negative ids) go out plainly."""
    from newsletter.testsend import test_send

    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    cfg = configure(tmp_path, server, verp=True)
    results = test_send(cfg, REPO / "issues" / f"{SLUG}.md", "editor@example.com")
    assert results and all(r.status == "sent" for r in results), results
    got = server.handler.received
    assert len(got) == len(results) and {r.mail_from for r in got} == {"news@calm-practice.org"}
    assert all(r.message.get("Subject", "").startswith("[TEST]") for r in got)
