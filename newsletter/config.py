"""``newsletter.toml``: one file, every setting read by something; good defaults.

Secrets never live here: API keys and the signing secret come from the environment.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import headers, secrets
from .errors import ConfigError, NewsletterError
from .fetch import is_http_url
from .timing import parse_interval, zone

CONFIG_NAME = "newsletter.toml"
SECRET_ENV = "NEWSLETTER_SECRET"
SECRET_MIN_LENGTH = 16
#: a sender name longer than this is refused (it goes into every From header)
NAME_MAX = 200


class ProviderName(StrEnum):
    """``[sending] provider``: equal to its name as text."""

    OUTBOX = "outbox"
    POSTMARK = "postmark"
    SENDGRID = "sendgrid"
    MAILGUN = "mailgun"
    RESEND = "resend"
    SES = "ses"
    SMTP = "smtp"


class Security(StrEnum):
    """How a connection to a mail server (SMTP, IMAP) is protected."""

    STARTTLS = "starttls"  # plain connection, upgraded with STARTTLS before anything else
    TLS = "tls"  # TLS from the first byte (SMTPS on 465, IMAPS on 993)
    NONE = "none"  # no encryption: only for a relay on this machine or a test server


def derived() -> Any:
    """Marks a field computed from the others when the file is loaded (not a setting)."""
    return {"derived": True}


@dataclass
class Sender:
    name: str = "Your Name"
    email: str = "newsletter@example.com"
    reply_to: str = ""
    postal_address: str = "123 Example Street, Springfield"


@dataclass
class Brand:
    primary_color: str = "#2f6f62"
    text_color: str = "#1f2933"
    background_color: str = "#f4f1ec"
    content_background: str = "#ffffff"
    font_family: str = "Georgia, 'Times New Roman', serif"
    logo_url: str = ""
    #: the web pages' language (the form, the archive), and an article's when its text is
    #: too short to tell
    language: str = "en"
    greeting: str = "Hi {first_name},"
    first_name_fallback: str = "there"


@dataclass
class Sending:
    provider: ProviderName = ProviderName.OUTBOX
    outbox_dir: str = "outbox"
    timezone: str = "UTC"
    #: a send missed while the machine was off still goes out within this window
    grace: str = "6h"
    #: recipients per request; 0 = each provider's own limit
    batch_size: int = 0
    rate_limit: float = 0.0  # messages per second, 0 = no limit
    #: pause a campaign when this share of a batch fails
    max_error_rate: float = 0.5
    #: how often `newsletter run` looks for due messages, in seconds
    poll_seconds: float = 30.0
    #: 'sending' rows older than this are taken back after a crash on another machine
    lease_seconds: float = 600.0
    #: a batch whose answer was lost is first looked for in the provider's log after this
    #: (the log may lag a request), then again with backoff
    settle_after: str = "2m"
    #: no evidence within this: the editor gets one decision to make
    settle_within: str = "24h"
    #: ``timezone``, ``grace`` and the settle times as typed values, set when loaded
    zone: ZoneInfo = field(default=ZoneInfo("UTC"), metadata=derived(), repr=False)
    grace_interval: timedelta = field(default=timedelta(hours=6), metadata=derived())
    settle_after_interval: timedelta = field(default=timedelta(minutes=2), metadata=derived())
    settle_within_interval: timedelta = field(default=timedelta(hours=24), metadata=derived())


@dataclass
class Web:
    #: the public address of `newsletter serve` (unsubscribe links point here)
    base_url: str = "http://127.0.0.1:8025"
    host: str = "127.0.0.1"
    port: int = 8025
    #: how many reverse proxies (nginx, Caddy) stand in front of the app: their
    #: X-Forwarded-For gives the reader's IP address (rate limits, consent records)
    trusted_proxies: int = 0


@dataclass
class ListSettings:
    """``[lists.NAME]``: how readers join a list through the subscribe form."""

    #: a reader who fills in the form confirms by email before getting anything
    double_opt_in: bool = True
    #: shown beside a required checkbox on the form, and kept in each consent record
    consent_text: str = ""
    #: the form's heading, e.g. "Get the 3-part series on working-mom guilt by email"
    title: str = ""
    #: how long a confirmation link stays valid; unconfirmed addresses are purged after it
    confirm_expiry: str = "7d"
    #: the page of your site the form is on: the "Back" link of the form's error page
    page: str = ""
    #: the language of the form, its answers and the confirmation email ("" = [brand] language)
    language: str = ""


@dataclass
class Dns:
    """``newsletter domain check``: where to look up the sending domain's records."""

    #: the resolver to ask: "" for the system's, or an IP address ("1.1.1.1", "127.0.0.1:5353");
    #: $NEWSLETTER_DNS_NAMESERVER overrides it
    nameserver: str = ""
    #: the DKIM selectors your provider shows you (Postmark and SES assign them per account)
    dkim_selectors: list[str] = field(default_factory=list)
    #: the domain whose SPF record sends for you, when not the provider's usual one
    spf_domain: str = ""


@dataclass
class Tracking:
    """Passed to the provider (Postmark, SendGrid, Mailgun track per message; Resend per
    domain, so turning these on there is refused). Off by default: many senders are health
    practices whose readers expect discretion."""

    open_pixel: bool = False
    click_rewriting: bool = False


@dataclass
class SeriesStyle:
    """How a series is framed: subjects and the sign-off at the end of every part."""

    #: {heading} (what the part is about), {title} (the series), {k} and {n} (part k of n)
    subject: str = "{heading}"
    #: the last lines of every part; {author} is the issue's author (or the sender's name)
    sign_off: str = "Until next time,\n{author}"
    #: every series' language ("de"), unless its issue file says; "" = the article's own
    #: (its page's lang, else detected from its text)
    language: str = ""

    def check(self, source: str) -> None:
        for key, fmt, allowed in (
            ("subject", self.subject, {"heading", "title", "k", "n"}),
            ("sign_off", self.sign_off, {"author"}),
        ):
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None}
            except ValueError as exc:
                raise ConfigError(f"{source}: setting 'series.{key}' {exc}") from None
            unknown = names - allowed
            if unknown or (key == "subject" and not names & {"heading", "k"}):
                raise ConfigError(
                    f"{source}: setting 'series.{key}' has "
                    + (
                        f"an unknown field {{{sorted(unknown)[0]}}}"
                        if unknown
                        else "neither {heading} nor {k}, so every part would get the same subject"
                    ),
                    hint="use " + ", ".join("{" + a + "}" for a in sorted(allowed)),
                )


@dataclass
class Feeds:
    """`newsletter feeds`: where the note about a post waiting for approval goes."""

    #: the editor's address (default: [sender] email)
    notify: str = ""
    #: how often each feed is fetched unless `feeds add --poll` says otherwise
    poll: str = "1h"


@dataclass
class Notify:
    """``[notify]``: where the editor is told what needs them (a series paused, a batch
    awaiting a decision, a bounce or complaint rate tripped): at most one mail an hour."""

    #: the editor's address (default: [sender] email)
    email: str = ""
    #: a part pauses when this share of its delivered messages bounced ...
    max_bounce_rate: float = 0.05
    #: ... or complained (of the last ``rate_window`` messages with an outcome)
    max_complaint_rate: float = 0.003
    rate_window: int = 1000


@dataclass
class FetchSettings:
    """``[fetch]``: every page and feed this tool fetches (``import URL``, feeds)."""

    #: fetch from loopback, private and link-local addresses too (local testing only)
    allow_private: bool = False
    #: seconds for a whole fetch: connecting, redirects and every read of the answer
    timeout: float = 15.0


@dataclass
class Smtp:
    """``[providers.smtp]``: the mail server a practice already has (Google Workspace,
    Microsoft 365, its host's relay). The password comes from ``$SMTP_PASSWORD``."""

    host: str = ""
    port: int = 587
    security: Security = Security.STARTTLS
    #: the login (often the mailbox's address); "" for a relay that takes no login
    username: str = ""
    #: persistent connections used at once (each sends its share of a batch in turn)
    connections: int = 1
    #: messages per second over all connections, 0 = no limit of our own
    rate_limit: float = 0.0
    #: messages per batch (per check of the ledger between batches)
    batch_size: int = 50
    #: seconds to wait for each answer of the server
    timeout: float = 30.0
    #: the envelope sender (where bounces go); default [sender] email
    return_path: str = ""
    #: VERP: each message's envelope sender names it (news+nl-42-5f1c0a9e3b@…), so a bounce
    #: that does not quote the message is still matched (the mailbox must take plus addresses)
    verp: bool = False
    #: a CA file to trust (a relay with a private certificate); default the system's
    ca_file: str = ""
    #: the name given in EHLO; default this machine's name
    helo: str = ""
    #: send without a feature the server cannot give (open and click tracking), a warning
    #: logged, instead of refusing to start
    ignore_unsupported: bool = False


@dataclass
class Imap:
    """``[bounces.imap]``: the mailbox where delivery status notifications arrive. The
    password comes from ``$IMAP_PASSWORD``."""

    host: str = ""
    port: int = 993
    security: Security = Security.TLS
    user: str = ""
    folder: str = "INBOX"
    #: where processed bounces, complaints and auto-replies are moved
    processed_folder: str = "Newsletter processed"
    #: delete processed messages instead of moving them (only when you ask for it)
    delete_processed: bool = False
    ca_file: str = ""
    timeout: float = 30.0


@dataclass
class Bounces:
    """``[bounces]``: read bounces from a mailbox (for the smtp provider)."""

    #: how often `newsletter run` reads the mailbox
    every: str = "15m"
    imap: Imap | None = None


@dataclass
class Config:
    root: Path = field(default_factory=Path.cwd)
    database_url: str = "sqlite:///newsletter.db"
    issues_dir: str = "issues"
    templates_dir: str = "templates"
    sender: Sender = field(default_factory=Sender)
    brand: Brand = field(default_factory=Brand)
    sending: Sending = field(default_factory=Sending)
    web: Web = field(default_factory=Web)
    tracking: Tracking = field(default_factory=Tracking)
    dns: Dns = field(default_factory=Dns)
    series: SeriesStyle = field(default_factory=SeriesStyle)
    feeds: Feeds = field(default_factory=Feeds)
    notify: Notify = field(default_factory=Notify)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    #: per-provider settings ([providers.postmark] ...), read by each provider
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: [providers.smtp], checked when the file is loaded
    smtp: Smtp = field(default_factory=Smtp)
    bounces: Bounces = field(default_factory=Bounces)
    #: per-list settings ([lists.readers] ...) for the subscribe form
    lists: dict[str, ListSettings] = field(default_factory=dict)
    path: Path | None = None

    def list_settings(self, name: str) -> ListSettings:
        return self.lists.get(name) or ListSettings()

    @property
    def db_url(self) -> str:
        url = os.environ.get("NEWSLETTER_DATABASE_URL") or self.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            rel = url[len("sqlite:///") :]
            if rel and rel != ":memory:":
                return "sqlite:///" + str((self.root / rel).resolve())
        return url

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def outbox_path(self) -> Path:
        return self.resolve(self.sending.outbox_dir)

    @property
    def user_templates(self) -> Path:
        return self.resolve(self.templates_dir)


_SECTIONS: dict[str, type] = {
    "sender": Sender,
    "brand": Brand,
    "sending": Sending,
    "web": Web,
    "tracking": Tracking,
    "dns": Dns,
    "series": SeriesStyle,
    "feeds": Feeds,
    "notify": Notify,
    "fetch": FetchSettings,
}
_TOP = {
    "database_url",
    "issues_dir",
    "templates_dir",
    "providers",
    "lists",
    "bounces",
    *_SECTIONS,
}


def _unknown(source: str, key: str, allowed: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key.split(".")[-1], allowed, n=1, cutoff=0.6)
    hint = (
        f"did you mean '{close[0]}'?" if close else "expected one of: " + ", ".join(sorted(allowed))
    )
    return ConfigError(f"{source}: unknown setting '{key}'", hint=hint)


def _header(limit: int = NAME_MAX) -> Callable[[str, str], str]:
    """Text that goes into a header: one line, no control characters (no CR/LF: header
    injection), at most ``limit`` characters."""

    def check(value: str, where: str) -> str:
        why = headers.problem(value, limit=limit)
        if why:
            raise ConfigError(f"{where} {why}, got {value[:80]!r}")
        return value

    return check


def _postal(value: str, where: str) -> str:
    """The footer's postal address: lines are fine, other control characters are not."""
    for line in value.split("\n"):
        _header(headers.MAX_TEXT)(line, where)
    return value


def _address(optional: bool) -> Callable[[str, str], str]:
    def check(value: str, where: str) -> str:
        from email_validator import EmailNotValidError, validate_email

        value = _header(headers.MAX_TEXT)(value, where).strip()
        if optional and not value:
            return value
        try:
            validate_email(value, check_deliverability=False, test_environment=True)
        except EmailNotValidError as exc:
            raise ConfigError(
                f"{where}: expected an email address, got {value!r} ({exc})"
            ) from None
        return value

    return check


def _provider(value: str, where: str) -> ProviderName:
    try:
        return ProviderName(value)
    except ValueError:
        raise ConfigError(
            f"{where}: unknown provider {value!r}",
            hint="expected one of: " + ", ".join(p.value for p in ProviderName),
        ) from None


def _url(value: str, where: str) -> str:
    if not is_http_url(value.strip()):
        raise ConfigError(
            f"{where}: expected an address like https://news.example.org, got {value!r}"
        )
    return value.strip()


def _at_least(low: float, *, above: bool = False) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> Any:
        if value < low or (above and value == low):
            raise ConfigError(
                f"{where}: expected a number {'above' if above else 'of at least'} {low:g}, "
                f"got {value!r}"
            )
        return value

    return check


def _share(value: float, where: str) -> float:
    if not 0 <= value <= 1:
        raise ConfigError(f"{where}: expected a share between 0 and 1, got {value!r}")
    return value


def _port(value: int, where: str) -> int:
    if not 0 < value < 65536:
        raise ConfigError(f"{where}: expected a port from 1 to 65535, got {value!r}")
    return value


def _security(value: str, where: str) -> Security:
    try:
        return Security(value)
    except ValueError:
        raise ConfigError(
            f"{where}: expected one of {', '.join(s.value for s in Security)}, got {value!r}"
        ) from None


def _hostname(value: str, where: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]", value):
        raise ConfigError(f"{where}: expected a host name like smtp.example.com, got {value!r}")
    return value


def _folder(value: str, where: str) -> str:
    if not value.strip() or any(ord(c) < 32 or c in '"\\' for c in value):
        raise ConfigError(f"{where}: expected a folder name, got {value!r}")
    return value


def _valid(parse: Callable[[str, str], Any]) -> Callable[[str, str], str]:
    """Text that ``parse`` accepts (kept as written; the typed value is derived later)."""

    def check(value: str, where: str) -> str:
        try:
            parse(value, where)
        except NewsletterError as exc:
            raise ConfigError(str(exc)) from None
        return value

    return check


def _nameserver(value: str, where: str) -> str:
    if value.strip():
        parse_nameserver(value, where)
    return value


def parse_nameserver(value: str, source: str = "[dns] nameserver") -> tuple[str, int]:
    """``1.1.1.1``, ``127.0.0.1:5353`` or ``[::1]:53`` as (address, port)."""
    host, port_text = value.strip(), "53"
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else "53"
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"{source}: expected an IP address like 1.1.1.1 or 127.0.0.1:5353, got {value!r}"
        ) from None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{source}: the port in {value!r} must be 1 to 65535")
    return host, int(port_text)


_COLOR = re.compile(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?|[a-zA-Z]{3,20}")
_FONTS = re.compile(r"[\w ,'\"-]{1,200}")


def _pattern(pattern: re.Pattern[str], expected: str) -> Callable[[str, str], str]:
    """Text that lands in CSS and HTML attributes: only the shape ``expected`` says."""

    def check(value: str, where: str) -> str:
        if not pattern.fullmatch(value.strip()):
            raise ConfigError(f"{where}: expected {expected}, got {value[:80]!r}")
        return value.strip()

    return check


def _language(optional: bool) -> Callable[[str, str], str]:
    def check(value: str, where: str) -> str:
        from .i18n import normalise

        if optional and not value.strip():
            return ""
        code = normalise(value)
        if code is None:
            raise ConfigError(f"{where}: expected a language code like de or pt-BR, got {value!r}")
        return code

    return check


def _optional_url(value: str, where: str) -> str:
    return _url(value, where) if value.strip() else ""


#: checks and conversions per setting, beyond its type (section, key) -> parser
_PARSERS: dict[tuple[str, str], Callable[[Any, str], Any]] = {
    ("sender", "name"): _header(),
    **{
        ("brand", name): _pattern(_COLOR, "a colour like #2f6f62 or teal")
        for name in ("primary_color", "text_color", "background_color", "content_background")
    },
    ("brand", "font_family"): _pattern(_FONTS, "font names like Georgia, 'Times New Roman', serif"),
    ("brand", "logo_url"): _optional_url,
    ("brand", "language"): _language(optional=False),
    ("series", "language"): _language(optional=True),
    ("sender", "email"): _address(optional=False),
    ("sender", "reply_to"): _address(optional=True),
    ("sender", "postal_address"): _postal,
    ("sending", "provider"): _provider,
    ("sending", "timezone"): _valid(zone),
    ("sending", "grace"): _valid(parse_interval),
    ("sending", "settle_after"): _valid(parse_interval),
    ("sending", "settle_within"): _valid(parse_interval),
    ("notify", "email"): _address(optional=True),
    ("notify", "max_bounce_rate"): _share,
    ("notify", "max_complaint_rate"): _share,
    ("notify", "rate_window"): _at_least(1),
    ("sending", "batch_size"): _at_least(0),
    ("sending", "rate_limit"): _at_least(0),
    ("sending", "max_error_rate"): _share,
    ("sending", "poll_seconds"): _at_least(0, above=True),
    ("sending", "lease_seconds"): _at_least(0),
    ("web", "base_url"): _url,
    ("web", "port"): _port,
    ("dns", "nameserver"): _nameserver,
    ("feeds", "notify"): _address(optional=True),
    ("feeds", "poll"): _valid(parse_interval),
    ("fetch", "timeout"): _at_least(0, above=True),
    ("providers.smtp", "host"): _hostname,
    ("providers.smtp", "port"): _port,
    ("providers.smtp", "security"): _security,
    ("providers.smtp", "username"): _header(),
    ("providers.smtp", "connections"): _at_least(1),
    ("providers.smtp", "rate_limit"): _at_least(0),
    ("providers.smtp", "batch_size"): _at_least(1),
    ("providers.smtp", "timeout"): _at_least(0, above=True),
    ("providers.smtp", "return_path"): _address(optional=True),
    ("providers.smtp", "helo"): _valid(lambda v, w: _hostname(v, w) if v.strip() else v),
    ("bounces", "every"): _valid(parse_interval),
    ("bounces.imap", "host"): _hostname,
    ("bounces.imap", "port"): _port,
    ("bounces.imap", "security"): _security,
    ("bounces.imap", "user"): _header(),
    ("bounces.imap", "folder"): _folder,
    ("bounces.imap", "processed_folder"): _folder,
    ("bounces.imap", "timeout"): _at_least(0, above=True),
}


def _fill(obj: Any, data: dict[str, Any], source: str, section: str) -> None:
    names = {f.name: f for f in fields(obj) if not f.metadata.get("derived")}
    for key, value in data.items():
        if key not in names:
            raise _unknown(source, f"{section}.{key}", list(names))
        current = getattr(obj, key)
        expected = str if isinstance(current, StrEnum) else type(current)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != isinstance(current, bool):
            raise ConfigError(
                f"{source}: setting '{section}.{key}' expected {expected.__name__}, got {value!r}"
            )
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise ConfigError(
                f"{source}: setting '{section}.{key}' expected a list of text, got {value!r}"
            )
        parser = _PARSERS.get((section, key))
        if parser is not None:
            value = parser(value, f"{source}: setting '{section}.{key}'")
        setattr(obj, key, value)


def _required(value: str, source: str, section: str, key: str) -> None:
    if not value.strip():
        raise ConfigError(f"{source}: [{section}] needs '{key}'")


def _bounces(cfg: Config, value: Any, source: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: 'bounces' must be a table ([bounces])")
    table = dict(value)
    imap = table.pop("imap", None)
    _fill(cfg.bounces, table, source, "bounces")
    if imap is not None:
        if not isinstance(imap, dict):
            raise ConfigError(f"{source}: 'bounces.imap' must be a table ([bounces.imap])")
        cfg.bounces.imap = Imap()
        _fill(cfg.bounces.imap, imap, source, "bounces.imap")
        for key in ("host", "user"):
            _required(getattr(cfg.bounces.imap, key), source, "bounces.imap", key)


def _finish(cfg: Config) -> Config:
    """The derived values, and the settings that come from the environment."""
    cfg.sending.zone = zone(cfg.sending.timezone, "[sending] timezone")
    cfg.sending.grace_interval = parse_interval(cfg.sending.grace, "[sending] grace")
    cfg.sending.settle_after_interval = parse_interval(
        cfg.sending.settle_after, "[sending] settle_after"
    )
    cfg.sending.settle_within_interval = parse_interval(
        cfg.sending.settle_within, "[sending] settle_within"
    )
    secret = secrets.read(SECRET_ENV)
    secrets.register_env(*secrets.WEBHOOK_ENV)  # read by the web app on a provider's request
    if SECRET_ENV in os.environ and len(secret) < SECRET_MIN_LENGTH:
        raise ConfigError(
            f"${SECRET_ENV}: expected at least {SECRET_MIN_LENGTH} characters, got {len(secret)}",
            hint="unset it to use a generated secret, or set a longer one",
        )
    return cfg


def load_config(path: Path | str | None = None) -> Config:
    """Read newsletter.toml (``path``, $NEWSLETTER_CONFIG, or ./newsletter.toml if present)."""
    if path is None:
        env = os.environ.get("NEWSLETTER_CONFIG")
        path = Path(env) if env else Path.cwd() / CONFIG_NAME
        if not path.exists():
            return _finish(Config(root=Path.cwd()))
    path = Path(path)
    if not path.exists():
        raise ConfigError(
            f"{path}: no such configuration file", hint="run 'newsletter init DIR' to create one"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    cfg = Config(root=path.resolve().parent, path=path.resolve())
    for key, value in data.items():
        if key not in _TOP:
            raise _unknown(str(path), key, sorted(_TOP))
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: '{key}' must be a table ([{key}])")
            _fill(getattr(cfg, key), value, str(path), key)
            if key == "series":
                cfg.series.check(str(path))
        elif key == "providers":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{path}: 'providers' must hold tables like [providers.postmark]")
            cfg.providers = value
            if "smtp" in value:
                _fill(cfg.smtp, value["smtp"], str(path), "providers.smtp")
                _required(cfg.smtp.host, str(path), "providers.smtp", "host")
        elif key == "bounces":
            _bounces(cfg, value, str(path))
        elif key == "lists":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise ConfigError(f"{path}: 'lists' must hold tables like [lists.readers]")
            for name, table in value.items():
                settings = ListSettings()
                _fill(settings, table, str(path), f"lists.{name}")
                from .timing import parse_interval  # (timing does not import config)

                parse_interval(settings.confirm_expiry, f"{path}: [lists.{name}] confirm_expiry")
                settings.page = _optional_url(settings.page, f"{path}: [lists.{name}] page")
                settings.language = _language(optional=True)(
                    settings.language, f"{path}: setting 'lists.{name}.language'"
                )
                cfg.lists[name] = settings
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{path}: setting '{key}' expected text, got {value!r}")
            setattr(cfg, key, value)
    return _finish(cfg)


DEFAULT_TOML = """\
# newsletter.toml: settings for this newsletter. Every setting has a default;
# uncomment and change what you need. Secrets (API keys, the signing secret)
# never go here: they come from environment variables.

# Where subscribers, queued series and the delivery ledger live.
# SQLite by default; NEWSLETTER_DATABASE_URL overrides this (e.g. postgresql://...).
database_url = "sqlite:///newsletter.db"
issues_dir = "issues"        # your issue files (Markdown with front matter)
templates_dir = "templates"  # put a template here to override the built-in one

[sender]
name = "Your Name"
email = "newsletter@example.com"
# reply_to = "you@example.com"
# Required by anti-spam law (CAN-SPAM, CASL): shown in every email's footer.
postal_address = "123 Example Street, Springfield"

[brand]
# primary_color = "#2f6f62"       # buttons and links
# text_color = "#1f2933"
# background_color = "#f4f1ec"
# content_background = "#ffffff"
# font_family = "Georgia, 'Times New Roman', serif"
# logo_url = "https://example.com/logo.png"
# language = "en"
# greeting = "Hi {first_name},"   # "" for no greeting
# first_name_fallback = "there"

[series]
# subject = "{heading}"     # or "{title}: {heading}", "{heading} ({k}/{n})"
# sign_off = "Until next time,\\n{author}"   # "" for none; {author} from the issue
# language = "de"   # the frame's words and lang; default: each article's own (detected)

[sending]
provider = "outbox"   # outbox (writes .eml files), postmark, sendgrid, mailgun, resend, ses, smtp
# outbox_dir = "outbox"
# timezone = "UTC"    # for subscribers without a timezone of their own
# grace = "6h"        # a send missed while the machine was off still goes out within this
# batch_size = 0      # recipients per request; 0 = the provider's own limit
# rate_limit = 0      # messages per second; 0 = as fast as the provider allows
# poll_seconds = 30
# max_error_rate = 0.5  # pause a series when this share of a batch fails
# lease_seconds = 600   # a crashed sender's rows are taken back after this
# settle_after = "2m"   # a lost answer is first looked for in the provider's log after this
# settle_within = "24h" # no evidence by then: you decide (told once, by mail and in status)

[notify]
# Who is told when something needs a person (a pause, a batch to decide, a bounce rate):
# email = "editor@example.com"   # default: [sender] email; at most one mail an hour
# max_bounce_rate = 0.05         # a part pauses above these shares of its last
# max_complaint_rate = 0.003     # rate_window messages with an outcome
# rate_window = 1000

[web]
# The public address of `newsletter serve`; unsubscribe links point here.
# base_url = "https://news.example.com"
# host = "127.0.0.1"
# port = 8025
# trusted_proxies = 1   # behind nginx or Caddy: the reader's IP from X-Forwarded-For

[dns]
# `newsletter domain check` looks up SPF, DKIM and DMARC for your sender's domain.
# nameserver = "1.1.1.1"          # default: the system's resolver
# dkim_selectors = ["20240101pm"]  # the selector(s) your provider shows you
# spf_domain = "pm-bounces.example.com"

[tracking]
# Off unless you turn them on: your readers may expect discretion.
# open_pixel = false
# click_rewriting = false

# How readers join a list through `newsletter form LIST` (double opt-in unless turned off).
# [lists.readers]
# double_opt_in = true
# consent_text = "I agree to receive this email series. I can unsubscribe at any time."
# title = "Get the series by email"
# confirm_expiry = "7d"
# page = "https://example.com/blog/post"   # where the form is: its error page's "Back" link
# language = "de"   # the form, its answers and the confirmation email ([brand] language)

[feeds]
# Who is told when a post from a feed waits for 'newsletter approve' (default: [sender] email).
# notify = "editor@example.com"
# poll = "1h"         # how often each feed is fetched; be polite to the blog

[fetch]
# Pages and feeds are fetched within one deadline, never from this machine or your network.
# timeout = 15            # seconds for a whole fetch (connect, redirects, every read)
# allow_private = false   # true only for local testing: fetch from 127.0.0.1, 10.x, ...

# [providers.postmark]   # API key from $POSTMARK_SERVER_TOKEN
# message_stream = "broadcast"

# [providers.sendgrid]   # API key from $SENDGRID_API_KEY

# [providers.mailgun]    # API key from $MAILGUN_API_KEY
# domain = "mg.example.com"
# base_url = "https://api.eu.mailgun.net"   # EU region

# [providers.resend]     # API key from $RESEND_API_KEY

# [providers.ses]        # $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY; pip install 'newsletter[ses]'
# region = "eu-west-1"

# [providers.smtp]       # your own mail server; password from $SMTP_PASSWORD
# host = "smtp.gmail.com"
# port = 587
# security = "starttls"  # or "tls" (port 465), "none" (a relay on this machine only)
# username = "you@example.com"
# connections = 1        # persistent connections used at once
# rate_limit = 0         # messages per second, 0 = no limit of our own
# batch_size = 50        # messages between two checks of the ledger
# verp = false           # each message's envelope sender names it (news+nl-42-…@)

# Read bounces and complaints from a mailbox (for the smtp provider); password from $IMAP_PASSWORD.
# [bounces]
# every = "15m"

# [bounces.imap]         # the mailbox where bounces arrive

# host = "imap.gmail.com"
# user = "you@example.com"
# folder = "INBOX"
# processed_folder = "Newsletter processed"   # never deleted unless delete_processed = true
"""
