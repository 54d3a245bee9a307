"""`newsletter domain check` (and `providers check`) against a DNS server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli

from .dnsserver import Records, dns_server

DOMAIN = "ortiz-practice.de"
GOOD: Records = {
    (DOMAIN, "TXT"): ["v=spf1 include:_spf.google.com include:spf.mtasv.net ~all"],
    (f"20240101pm._domainkey.{DOMAIN}", "TXT"): ["v=DKIM1; k=rsa; p=MIIBIjANBgkqh" + "A" * 380],
    (f"_dmarc.{DOMAIN}", "TXT"): ["v=DMARC1; p=none; rua=mailto:dmarc@ortiz-practice.de"],
    (DOMAIN, "MX"): ["10 mail.ortiz-practice.de."],
}


def write_config(root: Path, provider: str, nameserver: str, extra: str = "") -> Path:
    path = root / "newsletter.toml"
    path.write_text(
        f'[sending]\nprovider = "{provider}"\n'
        f'[sender]\nname = "Dr. Lena Ortiz"\nemail = "lena@{DOMAIN}"\n'
        'postal_address = "Hauptstr. 5, 10115 Berlin"\n'
        '[web]\nbase_url = "https://news.ortiz-practice.de"\n'
        f'[dns]\nnameserver = "{nameserver}"\n{extra}'
    )
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(path), *args])
    return result.exit_code, result.output


def test_all_three_records_present(tmp_path: Path) -> None:
    with dns_server(GOOD) as ns:
        path = write_config(tmp_path, "postmark", ns, 'dkim_selectors = ["20240101pm"]\n')
        code, out = run(path, "domain", "check")
    assert code == 0 and f"Domain {DOMAIN} for postmark: ready." in out, out
    assert "SPF ok" in out and "DKIM ok" in out and "DMARC ok" in out


@pytest.mark.parametrize(
    "provider,extra,advice",
    [
        (
            "postmark",
            "",
            [
                f'add a TXT record at {DOMAIN}: "v=spf1 include:spf.mtasv.net ~all" '
                f"(or the CNAME pm-bounces.{DOMAIN} -> pm.mtasv.net)",
                "put its selector in [dns] dkim_selectors",
            ],
        ),
        (
            "sendgrid",
            "",
            [
                f'add a TXT record at {DOMAIN}: "v=spf1 include:sendgrid.net ~all"',
                f"no DKIM key at s1._domainkey.{DOMAIN}, s2._domainkey.{DOMAIN}",
            ],
        ),
        (
            "resend",
            "",
            [
                f'add a TXT record at send.{DOMAIN}: "v=spf1 include:amazonses.com ~all"',
                f"no DKIM key at resend._domainkey.{DOMAIN}",
            ],
        ),
        (
            "ses",
            "",
            [
                f'add a TXT record at mail.{DOMAIN}: "v=spf1 include:amazonses.com ~all"',
                "Amazon SES: Verified identities",
            ],
        ),
        (
            "mailgun",
            '[providers.mailgun]\ndomain = "mg.ortiz-practice.de"\n',
            [
                f'add a TXT record at mg.{DOMAIN}: "v=spf1 include:mailgun.org ~all"',
                f"no DKIM key at one of smtp._domainkey.mg.{DOMAIN}",
            ],
        ),
    ],
)
def test_each_provider_says_which_record_to_add(
    tmp_path: Path, provider: str, extra: str, advice: list[str]
) -> None:
    with dns_server({(DOMAIN, "MX"): ["10 mail.ortiz-practice.de."]}) as ns:
        code, out = run(write_config(tmp_path, provider, ns, extra), "domain", "check")
    assert code == 1 and "record(s) to fix" in out, out
    for line in advice:
        assert line in out, (line, out)
    assert f'add a TXT record at _dmarc.{DOMAIN}: "v=DMARC1; p=none;' in out


def test_spf_without_the_provider_and_dkim_through_a_cname(tmp_path: Path) -> None:
    records: Records = {
        (DOMAIN, "TXT"): ["v=spf1 include:_spf.google.com -all", "google-site-verification=x"],
        # SES Easy DKIM: the token CNAME points at amazonses.com, which holds the key
        (f"tok1._domainkey.{DOMAIN}", "CNAME"): ["tok1.dkim.amazonses.com."],
        ("tok1.dkim.amazonses.com", "TXT"): ["p=MIGfMA0GCSq"],
        (f"_dmarc.{DOMAIN}", "TXT"): ["v=DMARC1; p=quarantine"],
    }
    with dns_server(records) as ns:
        extra = f'dkim_selectors = ["tok1", "tok2"]\nspf_domain = "{DOMAIN}"\n'
        code, out = run(write_config(tmp_path, "ses", ns, extra), "domain", "check")
    assert code == 1, out
    assert "does not include the provider: add include:amazonses.com" in out
    assert f"DKIM ok: tok1._domainkey.{DOMAIN}" in out
    assert f"no DKIM key at tok2._domainkey.{DOMAIN}" in out and "DMARC ok" in out


def test_a_failing_resolver_is_unknown_not_missing(tmp_path: Path) -> None:
    with dns_server(None) as ns:
        code, out = run(write_config(tmp_path, "resend", ns), "domain", "check")
    assert code == 1 and "unknown" in out and "missing" not in out, out
    assert "try again" in out


def test_providers_check_runs_the_domain_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "pm-token")
    with dns_server({}) as ns:
        code, out = run(write_config(tmp_path, "postmark", ns), "providers", "check")
    assert code == 1 and "DMARC missing" in out, out
    for kind in ("SPF", "DKIM", "DMARC"):  # each problem once, not again from the domain list
        assert out.count(f"{kind} missing") == 1, out
        assert out.count(f"problem: {kind} missing") == 1, out
    with dns_server(GOOD) as ns:
        extra = 'dkim_selectors = ["20240101pm"]\n'
        code, out = run(write_config(tmp_path, "postmark", ns, extra), "providers", "check")
    assert code == 0 and "ready" in out, out


@pytest.mark.parametrize("value", ["dns.google", "127.0.0.1:99999", "1.2.3"])
def test_a_bad_nameserver_is_a_one_line_error(tmp_path: Path, value: str) -> None:
    code, out = run(write_config(tmp_path, "postmark", value), "domain", "check")
    assert code == 1 and "dns.nameserver" in out and len(out.strip().splitlines()) == 1, out
    assert "Traceback" not in out


def test_the_outbox_has_no_domain_to_check(tmp_path: Path) -> None:
    code, out = run(write_config(tmp_path, "outbox", "127.0.0.1"), "domain", "check")
    assert code == 1 and "nothing to look up" in out, out


def test_spf_through_nested_includes_and_the_lookup_limit(tmp_path: Path) -> None:
    nested: Records = {
        **GOOD,
        (DOMAIN, "TXT"): ["v=spf1 mx redirect=_spf.ortiz-practice.de"],
        (f"_spf.{DOMAIN}", "TXT"): ["v=spf1 include:_mail.ortiz-practice.de ~all"],
        (f"_mail.{DOMAIN}", "TXT"): ["v=spf1 ip4:192.0.2.1 include:spf.mtasv.net -all"],
    }
    extra = 'dkim_selectors = ["20240101pm"]\n'
    with dns_server(nested) as ns:
        code, out = run(write_config(tmp_path, "postmark", ns, extra), "domain", "check")
    assert code == 0 and "SPF ok" in out, out
    many = " ".join(f"include:s{i}.{DOMAIN}" for i in range(11))
    too_many: Records = {
        **GOOD,
        (DOMAIN, "TXT"): [f"v=spf1 {many} include:spf.mtasv.net ~all"],
        **{(f"s{i}.{DOMAIN}", "TXT"): ["v=spf1 ip4:192.0.2.1 -all"] for i in range(11)},
    }
    with dns_server(too_many) as ns:
        code, out = run(write_config(tmp_path, "postmark", ns, extra), "domain", "check")
    assert code == 1 and "needs 12 DNS lookups; receivers stop at 10" in out, out
