"""``newsletter domain check``: the sending domain's DNS records, looked up with dnspython.

Gmail and Yahoo require of bulk senders (since 2024) SPF, DKIM and a DMARC record. For the
configured provider this checks that the SPF record includes the provider (where the
provider puts it), that the provider's DKIM records exist, and that ``_dmarc.DOMAIN`` holds
a DMARC record; each finding says in plain words which record to add. A lookup that fails
(timeout, no answer from the server) is *unknown*, never *missing*.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum

import dns.exception
import dns.resolver

from .config import Config, ProviderName, parse_nameserver
from .errors import ConfigError

NAMESERVER_ENV = "NEWSLETTER_DNS_NAMESERVER"
LIFETIME_SECONDS = 5.0
#: RFC 7208 4.6.4: an SPF check may cause at most 10 DNS lookups
SPF_MAX_LOOKUPS = 10


class RecordState(Enum):
    OK = "ok"
    MISSING = "missing"
    #: the lookup itself failed: nothing is known about the record
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RecordCheck:
    kind: str  # SPF | DKIM | DMARC
    host: str
    state: RecordState
    message: str


@dataclass(frozen=True)
class DomainReport:
    domain: str
    provider: str
    checks: list[RecordCheck]

    @property
    def problems(self) -> list[RecordCheck]:
        return [c for c in self.checks if c.state is not RecordState.OK]


@dataclass(frozen=True)
class ProviderDns:
    """Where a provider's records live, from the provider's documentation."""

    #: the host whose SPF record must include ``spf_include`` ({domain} = sending domain)
    spf_host: str
    spf_include: str
    #: DKIM selectors when the provider uses fixed ones; () = per account, from [dns]
    dkim_selectors: tuple[str, ...]
    #: every fixed selector must exist (SendGrid s1 and s2), or any one (Mailgun's vary)
    dkim_all: bool
    #: where the editor finds the DKIM record in the provider's dashboard
    dkim_where: str
    #: a CNAME that delegates SPF instead (Postmark's custom Return-Path)
    spf_cname: tuple[str, str] | None = None
    #: who signs (for a mail host reached over SMTP: "Google Workspace"); "" = the provider
    signer: str = ""


PROVIDER_DNS = {
    ProviderName.POSTMARK: ProviderDns(
        "{domain}",
        "spf.mtasv.net",
        (),
        True,
        "Postmark: Sender Signatures > your domain > DNS Settings (a date-based selector "
        "ending in 'pm')",
        spf_cname=("pm-bounces.{domain}", "pm.mtasv.net"),
    ),
    ProviderName.SENDGRID: ProviderDns(
        "{domain}",
        "sendgrid.net",
        ("s1", "s2"),
        True,
        "SendGrid: Settings > Sender Authentication > Authenticate Your Domain",
    ),
    ProviderName.MAILGUN: ProviderDns(
        "{domain}",
        "mailgun.org",
        ("smtp", "mx", "krs", "pic", "k1", "mailo"),
        False,
        "Mailgun: Sending > Domain settings > DNS records",
    ),
    ProviderName.SES: ProviderDns(
        "mail.{domain}",
        "amazonses.com",
        (),
        True,
        "Amazon SES: Verified identities > your domain > DKIM (three CNAME tokens)",
    ),
    ProviderName.RESEND: ProviderDns(
        "send.{domain}",
        "amazonses.com",
        ("resend",),
        True,
        "Resend: Domains > your domain",
    ),
}

#: mail hosts reached over SMTP ([providers.smtp] host), from their own documentation: the
#: SPF include they publish, their DKIM selectors; they sign DKIM themselves
SMTP_HOSTS = {
    ("smtp.gmail.com", "smtp-relay.gmail.com"): ProviderDns(
        "{domain}",
        "_spf.google.com",
        ("google",),
        True,
        "Google Admin console: Apps > Google Workspace > Gmail > Authenticate email",
        signer="Google Workspace",
    ),
    ("smtp.office365.com", ".mail.protection.outlook.com"): ProviderDns(
        "{domain}",
        "spf.protection.outlook.com",
        ("selector1", "selector2"),
        True,
        "Microsoft Defender portal: Email & collaboration > Policies > Email authentication "
        "settings > DKIM (two CNAME records)",
        signer="Microsoft 365",
    ),
}


def smtp_dns(host: str) -> ProviderDns:
    """What a mail host reached over SMTP needs in DNS (a generic relay: an SPF record that
    allows it, and the DKIM selector it signs with, from [dns] dkim_selectors)."""
    host = host.strip().lower()
    for names, rules in SMTP_HOSTS.items():
        if any(host == n or (n.startswith(".") and host.endswith(n)) for n in names):
            return rules
    return ProviderDns(
        "{domain}",
        "",
        (),
        False,
        f"ask {host or 'your mail host'} for its DKIM record and selector",
        signer=host or "your mail host",
    )


def has_dns(provider: str) -> bool:
    """Whether `domain check` has something to look up for this provider."""
    return provider in PROVIDER_DNS or provider == ProviderName.SMTP


def provider_dns(config: Config) -> ProviderDns:
    provider = config.sending.provider
    if provider == ProviderName.SMTP:
        return smtp_dns(config.smtp.host)
    return PROVIDER_DNS[provider]


class LookupFailed(Exception):
    pass


def make_resolver(config: Config) -> dns.resolver.Resolver:
    env = os.environ.get(NAMESERVER_ENV, "").strip()
    configured = env or config.dns.nameserver.strip()
    if configured:
        host, port = parse_nameserver(
            configured, f"${NAMESERVER_ENV}" if env else "[dns] nameserver"
        )
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            raise ConfigError(
                "no DNS resolver configured on this computer",
                hint="set [dns] nameserver in newsletter.toml, e.g. 1.1.1.1",
            ) from None
    resolver.lifetime = LIFETIME_SECONDS
    return resolver


def _lookup(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> list[str]:
    try:
        answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.exception.DNSException) as exc:
        raise LookupFailed(f"{type(exc).__name__}") from None
    if answer.rrset is None:
        return []
    if rdtype == "TXT":
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset]
    return [r.to_text().rstrip(".").lower() for r in answer.rrset]


def from_domain(config: Config) -> str:
    email = config.sender.email.strip()
    if "@" not in email or not email.rpartition("@")[2]:
        raise ConfigError(f"[sender] email {email!r} is not an address with a domain")
    return email.rpartition("@")[2].lower()


def sending_domain(config: Config) -> str:
    """The domain the provider signs and sends for (Mailgun: its own sending domain)."""
    if config.sending.provider == ProviderName.MAILGUN:
        domain = str(config.providers.get("mailgun", {}).get("domain", "")).strip()
        if domain:
            return domain.lower()
    return from_domain(config)


def check_domain(config: Config, resolver: dns.resolver.Resolver | None = None) -> DomainReport:
    provider = config.sending.provider
    if not has_dns(provider):
        raise ConfigError(
            f"[sending] provider '{provider.value}' sends no mail of its own: nothing to look up",
            hint="'newsletter domain check' checks the DNS of a real provider's sending domain",
        )
    rules = provider_dns(config)
    domain = sending_domain(config)
    resolver = resolver or make_resolver(config)
    who = rules.signer or provider
    checks = [
        _spf(resolver, rules, domain, config.dns.spf_domain.strip().lower()),
        *_dkim(resolver, rules, domain, who, config.dns.dkim_selectors),
        _dmarc(resolver, from_domain(config)),
    ]
    return DomainReport(domain, provider, checks)


def _unknown(kind: str, host: str, exc: LookupFailed) -> RecordCheck:
    return RecordCheck(
        kind, host, RecordState.UNKNOWN, f"{kind} lookup of {host} failed ({exc}): try again"
    )


def _spf(
    resolver: dns.resolver.Resolver, rules: ProviderDns, domain: str, override: str
) -> RecordCheck:
    host = override or rules.spf_host.format(domain=domain)
    if not rules.spf_include:  # a relay whose include we do not know
        return _spf_any(resolver, rules, host)
    include = f"include:{rules.spf_include}"
    try:
        if rules.spf_cname and not override:
            cname_host, target = (p.format(domain=domain) for p in rules.spf_cname)
            if target in _lookup(resolver, cname_host, "CNAME"):
                return RecordCheck("SPF", cname_host, RecordState.OK, f"CNAME to {target}")
        records = [r for r in _lookup(resolver, host, "TXT") if r.lower().startswith("v=spf1")]
    except LookupFailed as exc:
        return _unknown("SPF", host, exc)
    alternative = (
        " (or the CNAME {} -> {})".format(*(p.format(domain=domain) for p in rules.spf_cname))
        if rules.spf_cname and not override
        else ""
    )
    if not records:
        return RecordCheck(
            "SPF",
            host,
            RecordState.MISSING,
            f'no SPF record: add a TXT record at {host}: "v=spf1 {include} ~all"{alternative}',
        )
    if len(records) > 1:
        return RecordCheck(
            "SPF",
            host,
            RecordState.MISSING,
            f"{len(records)} SPF records at {host}: receivers ignore them all; merge them "
            f"into one that has {include}",
        )
    try:
        found, lookups = _spf_reaches(resolver, records[0], rules.spf_include)
    except LookupFailed as exc:
        return _unknown("SPF", host, exc)
    if lookups > SPF_MAX_LOOKUPS:
        return RecordCheck(
            "SPF",
            host,
            RecordState.MISSING,
            f"the SPF record at {host} needs {lookups} DNS lookups; receivers stop at "
            f"{SPF_MAX_LOOKUPS} and fail it: remove includes you no longer use",
        )
    if not found:
        return RecordCheck(
            "SPF",
            host,
            RecordState.MISSING,
            f'the SPF record at {host} ("{records[0]}") does not include the provider: '
            f"add {include} before its last term{alternative}",
        )
    return RecordCheck("SPF", host, RecordState.OK, records[0])


def _spf_any(resolver: dns.resolver.Resolver, rules: ProviderDns, host: str) -> RecordCheck:
    """An SPF record for a mail host whose include we do not know: one must exist."""
    try:
        records = [r for r in _lookup(resolver, host, "TXT") if r.lower().startswith("v=spf1")]
    except LookupFailed as exc:
        return _unknown("SPF", host, exc)
    if len(records) == 1:
        return RecordCheck(
            "SPF", host, RecordState.OK, f"{records[0]} (check that it allows {rules.signer})"
        )
    return RecordCheck(
        "SPF",
        host,
        RecordState.MISSING,
        f'no single SPF record at {host}: add one TXT record "v=spf1 include:... ~all" with '
        f"the include {rules.signer} publishes for its customers",
    )


def _spf_reaches(resolver: dns.resolver.Resolver, record: str, target: str) -> tuple[bool, int]:
    """Whether the SPF record includes ``target``, directly or through its includes and
    redirect (as receivers evaluate it), and how many DNS lookups that takes."""
    found, lookups = False, 0
    pending, seen = [record], set()
    while pending and lookups <= SPF_MAX_LOOKUPS:
        for term in pending.pop().lower().split()[1:]:
            name = term.lstrip("+-~?")
            if name.startswith(("a", "mx", "ptr", "exists:")) and not name.startswith("all"):
                lookups += 1
            if not name.startswith(("include:", "redirect=")):
                continue
            lookups += 1
            domain = name.split(":", 1)[1] if ":" in name else name.split("=", 1)[1]
            if domain == target:
                found = True
            elif domain not in seen:
                seen.add(domain)
                nested = [
                    r for r in _lookup(resolver, domain, "TXT") if r.lower().startswith("v=spf1")
                ]
                pending.extend(nested[:1])
    return found, lookups


def _dkim(
    resolver: dns.resolver.Resolver,
    rules: ProviderDns,
    domain: str,
    provider: str,
    configured: list[str],
) -> list[RecordCheck]:
    selectors = tuple(s.strip() for s in configured if s.strip()) or rules.dkim_selectors
    #: a mail host reached over SMTP signs every message itself
    signed = f" (DKIM is signed by {rules.signer}, not by newsletter)" if rules.signer else ""
    if not selectors:
        return [
            RecordCheck(
                "DKIM",
                f"?._domainkey.{domain}",
                RecordState.MISSING,
                (
                    f"DKIM is signed by {rules.signer}, not by newsletter: {rules.dkim_where}, "
                    "add the record and put its selector in [dns] dkim_selectors"
                )
                if rules.signer
                else f"{provider} gives each account its own DKIM selector: add the DKIM record "
                f"it shows ({rules.dkim_where}) and put its selector in [dns] dkim_selectors",
            )
        ]
    require_all = rules.dkim_all or bool(configured)
    found: list[RecordCheck] = []
    missing: list[str] = []
    for selector in selectors:
        host = f"{selector}._domainkey.{domain}"
        try:
            keys = [r for r in _lookup(resolver, host, "TXT") if "p=" in r.replace(" ", "")]
        except LookupFailed as exc:
            found.append(_unknown("DKIM", host, exc))
            continue
        if keys:
            found.append(RecordCheck("DKIM", host, RecordState.OK, "a DKIM key" + signed))
        else:
            missing.append(host)
    if missing and (require_all or not any(c.state is RecordState.OK for c in found)):
        which = ", ".join(missing) if require_all else f"one of {', '.join(missing)}"
        found.append(
            RecordCheck(
                "DKIM",
                missing[0],
                RecordState.MISSING,
                f"no DKIM key at {which}: add the DKIM record(s) {provider} shows you "
                f"({rules.dkim_where}){signed}",
            )
        )
    return found


def _dmarc(resolver: dns.resolver.Resolver, domain: str) -> RecordCheck:
    """The From domain's DMARC record, or its parent's (receivers fall back to the
    organisational domain: news.example.org -> example.org)."""
    host = f"_dmarc.{domain}"
    parent = ".".join(domain.split(".")[-2:])
    try:
        for name in dict.fromkeys((host, f"_dmarc.{parent}")):
            records = [r for r in _lookup(resolver, name, "TXT") if r.startswith("v=DMARC1")]
            if records:
                return RecordCheck("DMARC", name, RecordState.OK, records[0])
    except LookupFailed as exc:
        return _unknown("DMARC", host, exc)
    return RecordCheck(
        "DMARC",
        host,
        RecordState.MISSING,
        f'no DMARC record: add a TXT record at {host}: "v=DMARC1; p=none; '
        f'rua=mailto:dmarc@{domain}" (Gmail and Yahoo require one of bulk senders)',
    )
