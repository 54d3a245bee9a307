"""``newsletter.toml``: one file, every setting read by something; good defaults.

Every setting is a field of one of the dataclasses below, with its default and the comment
``newsletter init`` writes beside it (:func:`setting`); :mod:`.configfile` writes the
commented file from them. Values are checked and typed once, when the file is loaded
(``zone``, the intervals): the rest of the code reads those typed values and never parses a
setting again.

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
from dataclasses import MISSING, Field, dataclass, field, fields
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


def setting(
    default: Any = MISSING,
    doc: str = "",
    *,
    example: Any = None,
    shown: bool = False,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A setting: its default, what it does (the comment ``newsletter init`` writes beside
    it), an ``example`` written in its place when the default shows nothing useful (a
    placeholder is not a default worth showing), and whether the line is ``shown``
    uncommented."""
    meta = {"doc": doc, "example": example, "shown": shown}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def derived(*, repr: bool = True) -> Any:  # noqa: A002 (as dataclasses.field says it)
    """A typed value computed from the settings when they are loaded (not a setting)."""
    return field(init=False, repr=repr, metadata={"derived": True})


def is_setting(f: Field[Any]) -> bool:
    return not f.metadata.get("derived")


class Typed:
    """A table with typed values (:func:`derived`) computed from its settings by
    ``derive``: when it is made, and again whenever a program sets one of its settings, so
    the two never disagree. (The loader sets settings without this, and derives once all
    of a table's settings are checked.)"""

    _ready = False

    def __post_init__(self) -> None:
        self.derive()
        object.__setattr__(self, "_ready", True)

    def derive(self) -> None:
        raise NotImplementedError

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if self._ready and name in {f.name for f in fields(self) if is_setting(f)}:  # type: ignore[arg-type]
            self.derive()


@dataclass
class Sender:
    name: str = setting("Your Name", "the From name", shown=True)
    email: str = setting(
        "newsletter@example.com", "the From address, on a domain you own", shown=True
    )
    reply_to: str = setting("", "where replies go (default: email)", example="you@example.com")
    postal_address: str = setting(
        "123 Example Street, Springfield",
        "required by anti-spam law (CAN-SPAM, CASL): shown in every email's footer",
        shown=True,
    )


#: what the greeting says without a first name ("Hi there,"), at its default
GREETING_FALLBACK = "there"


@dataclass
class Brand:
    primary_color: str = setting("#2f6f62", "buttons and links")
    text_color: str = setting("#1f2933", "the text")
    background_color: str = setting("#f4f1ec", "around the content")
    content_background: str = setting("#ffffff", "behind the text")
    font_family: str = setting("Georgia, 'Times New Roman', serif", "the text's fonts")
    logo_url: str = setting("", "an image above every part", example="https://example.com/logo.png")
    language: str = setting(
        "en",
        "the web pages' language (the form, the archive), and an article's when its text"
        " is too short to tell",
    )
    greeting: str = setting("Hi {first_name},", '"" for no greeting')
    first_name_fallback: str = setting(GREETING_FALLBACK, "the greeting without a first name")


@dataclass
class SeriesStyle:
    """How a series is framed: subjects and the sign-off at the end of every part."""

    subject: str = setting(
        "{heading}",
        "{heading} (what the part is about), {title} (the series), {k} and {n} (part k of"
        ' n): "{title}: {heading}", "{heading} ({k}/{n})"',
    )
    sign_off: str = setting(
        "Until next time,\n{author}",
        'the last lines of every part, "" for none; {author} is the issue\'s author (or the'
        " sender's name)",
    )
    language: str = setting(
        "",
        "every series' language, unless its issue file says; default: each article's own"
        " (its page's lang, else detected from its text)",
        example="de",
    )

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
class Sending(Typed):
    provider: ProviderName = setting(
        ProviderName.OUTBOX,
        "outbox (writes .eml files), postmark, sendgrid, mailgun, resend, ses, smtp",
        shown=True,
    )
    outbox_dir: str = setting("outbox", "where the outbox provider writes its .eml files")
    timezone: str = setting("UTC", "for subscribers without a timezone of their own")
    grace: str = setting(
        "6h", "a send missed while the machine was off still goes out within this window"
    )
    batch_size: int = setting(0, "recipients per request; 0 = each provider's own limit")
    rate_limit: float = setting(0.0, "messages per second; 0 = no limit")
    max_error_rate: float = setting(0.5, "pause a series when this share of a batch fails")
    poll_seconds: float = setting(
        30.0, "how often `newsletter run` looks for due messages, in seconds"
    )
    lease_seconds: float = setting(
        600.0, "'sending' rows older than this are taken back after a crash elsewhere"
    )
    settle_after: str = setting(
        "2m",
        "a batch whose answer was lost is first looked for in the provider's log after this"
        " (the log may lag a request), then again with backoff",
    )
    settle_within: str = setting(
        "24h", "no evidence by then: you decide (told once, by mail and in status)"
    )
    #: ``timezone``, ``grace`` and the settle times as typed values
    zone: ZoneInfo = derived(repr=False)
    grace_interval: timedelta = derived()
    settle_after_interval: timedelta = derived()
    settle_within_interval: timedelta = derived()

    def derive(self) -> None:
        self.zone = zone(self.timezone, "[sending] timezone")
        self.grace_interval = parse_interval(self.grace, "[sending] grace")
        self.settle_after_interval = parse_interval(self.settle_after, "[sending] settle_after")
        self.settle_within_interval = parse_interval(self.settle_within, "[sending] settle_within")


@dataclass
class Notify:
    """``[notify]``: where the editor is told what needs them (a series paused, a batch
    awaiting a decision, a bounce or complaint rate tripped): at most one mail an hour."""

    email: str = setting(
        "", "the editor's address (default: [sender] email)", example="editor@example.com"
    )
    max_bounce_rate: float = setting(
        0.05, "a part pauses when this share of its delivered messages bounced ..."
    )
    max_complaint_rate: float = setting(
        0.003, "... or complained (of its last rate_window messages with an outcome)"
    )
    rate_window: int = setting(1000, "how many of a part's latest outcomes the rates count")


@dataclass
class Web:
    base_url: str = setting(
        "http://127.0.0.1:8025",
        "the public address of `newsletter serve` (unsubscribe links point here)",
        example="https://news.example.com",
    )
    host: str = setting("127.0.0.1", "the address `newsletter serve` listens on")
    port: int = setting(8025, "its port")
    trusted_proxies: int = setting(
        0,
        "how many reverse proxies (nginx, Caddy) stand in front of the app: their"
        " X-Forwarded-For gives the reader's IP address (rate limits, consent records)",
        example=1,
    )


@dataclass
class Dns:
    """``newsletter domain check``: where to look up the sending domain's records."""

    nameserver: str = setting(
        "",
        'the resolver to ask: "" for the system\'s, or an IP address (127.0.0.1:5353);'
        " $NEWSLETTER_DNS_NAMESERVER overrides it",
        example="1.1.1.1",
    )
    dkim_selectors: list[str] = setting(
        doc="the DKIM selectors your provider shows you (Postmark and SES assign them per account)",
        example=["20240101pm"],
        factory=list,
    )
    spf_domain: str = setting(
        "",
        "the domain whose SPF record sends for you, when not the provider's usual one",
        example="pm-bounces.example.com",
    )


@dataclass
class Tracking:
    """Passed to the provider (Postmark, SendGrid, Mailgun track per message; Resend per
    domain, so turning these on there is refused). Off by default: many senders are health
    practices whose readers expect discretion."""

    open_pixel: bool = setting(False, "an open-tracking pixel in every message")
    click_rewriting: bool = setting(False, "links rewritten by the provider to count clicks")


@dataclass
class ListSettings(Typed):
    """``[lists.NAME]``: how readers join a list through the subscribe form."""

    double_opt_in: bool = setting(
        True, "a reader who fills in the form confirms by email before getting anything"
    )
    consent_text: str = setting(
        "",
        "shown beside a required checkbox on the form, and kept in each consent record",
        example="I agree to receive this email series. I can unsubscribe at any time.",
    )
    title: str = setting("", "the form's heading", example="Get the series by email")
    confirm_expiry: str = setting(
        "7d",
        "how long a confirmation link stays valid; unconfirmed addresses are purged after it",
    )
    page: str = setting(
        "",
        'the page of your site the form is on: the "Back" link of the form\'s error page',
        example="https://example.com/blog/post",
    )
    language: str = setting(
        "",
        "the language of the form, its answers and the confirmation email (default:"
        " [brand] language)",
        example="de",
    )
    confirm_expiry_interval: timedelta = derived()

    def derive(self) -> None:
        self.confirm_expiry_interval = parse_interval(self.confirm_expiry, "confirm_expiry")


@dataclass
class Feeds(Typed):
    """`newsletter feeds`: where the note about a post waiting for approval goes."""

    notify: str = setting(
        "",
        "who is told when a post waits for 'newsletter approve' (default: [sender] email)",
        example="editor@example.com",
    )
    poll: str = setting(
        "1h", "how often each feed is fetched unless `feeds add --poll` says otherwise"
    )
    poll_interval: timedelta = derived()

    def derive(self) -> None:
        self.poll_interval = parse_interval(self.poll, "[feeds] poll")


@dataclass
class FetchSettings:
    """``[fetch]``: every page and feed this tool fetches (``import URL``, feeds)."""

    timeout: float = setting(
        15.0, "seconds for a whole fetch: connecting, redirects and every read of the answer"
    )
    allow_private: bool = setting(
        False, "fetch from loopback, private and link-local addresses too (local testing only)"
    )


@dataclass
class Smtp:
    """``[providers.smtp]``: the mail server a practice already has (Google Workspace,
    Microsoft 365, its host's relay). The password comes from ``$SMTP_PASSWORD``."""

    host: str = setting("", "the mail server (required)", example="smtp.gmail.com")
    port: int = setting(587, "587 for STARTTLS, 465 for TLS")
    security: Security = setting(
        Security.STARTTLS, 'or "tls" (port 465), "none" (a relay on this machine only)'
    )
    username: str = setting(
        "",
        'the login (often the mailbox\'s address); "" for a relay that takes no login',
        example="you@example.com",
    )
    connections: int = setting(1, "persistent connections used at once")
    rate_limit: float = setting(0.0, "messages per second over all connections, 0 = no limit")
    batch_size: int = setting(50, "messages between two checks of the ledger")
    timeout: float = setting(30.0, "seconds to wait for each answer of the server")
    return_path: str = setting("", "the envelope sender (where bounces go); default [sender] email")
    verp: bool = setting(
        False,
        "each message's envelope sender names it (news+nl-42-5f1c0a9e3b@...), so a bounce"
        " that does not quote the message is still matched (the mailbox must take plus"
        " addresses)",
    )
    ca_file: str = setting(
        "", "a CA file to trust (a relay with a private certificate); default the system's"
    )
    helo: str = setting("", "the name given in EHLO; default this machine's name")
    ignore_unsupported: bool = setting(
        False,
        "send without a feature the server cannot give (open and click tracking), a warning"
        " logged, instead of refusing to start",
    )


@dataclass
class Imap:
    """``[bounces.imap]``: the mailbox where delivery status notifications arrive. The
    password comes from ``$IMAP_PASSWORD``."""

    host: str = setting("", "the mailbox's server (required)", example="imap.gmail.com")
    port: int = setting(993, "993 for TLS, 143 for STARTTLS")
    security: Security = setting(Security.TLS, 'or "starttls" (port 143)')
    user: str = setting("", "the login (required)", example="you@example.com")
    folder: str = setting("INBOX", "the folder where bounces arrive")
    processed_folder: str = setting(
        "Newsletter processed", "where processed bounces, complaints and auto-replies are moved"
    )
    delete_processed: bool = setting(
        False, "delete processed messages instead of moving them (only when you ask for it)"
    )
    ca_file: str = setting("", "a CA file to trust; default the system's")
    timeout: float = setting(30.0, "seconds to wait for each answer of the server")


@dataclass
class Bounces(Typed):
    """``[bounces]``: read bounces from a mailbox (for the smtp provider)."""

    every: str = setting("15m", "how often `newsletter run` reads the mailbox")
    imap: Imap | None = field(default=None, metadata={"table": Imap})
    every_interval: timedelta = derived()

    def derive(self) -> None:
        self.every_interval = parse_interval(self.every, "[bounces] every")


@dataclass
class Config:
    root: Path = field(default_factory=Path.cwd, metadata={"derived": True})
    database_url: str = setting(
        "sqlite:///newsletter.db",
        "where subscribers, queued series and the delivery ledger live; SQLite by default,"
        " $NEWSLETTER_DATABASE_URL overrides it (e.g. postgresql://...)",
        shown=True,
    )
    issues_dir: str = setting("issues", "your issue files (Markdown with front matter)", shown=True)
    templates_dir: str = setting(
        "templates", "put a template here to override the built-in one", shown=True
    )
    sender: Sender = field(default_factory=Sender)
    brand: Brand = field(default_factory=Brand)
    series: SeriesStyle = field(default_factory=SeriesStyle)
    sending: Sending = field(default_factory=Sending)
    notify: Notify = field(default_factory=Notify)
    web: Web = field(default_factory=Web)
    dns: Dns = field(default_factory=Dns)
    tracking: Tracking = field(default_factory=Tracking)
    feeds: Feeds = field(default_factory=Feeds)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    #: per-provider settings ([providers.postmark] ...), read by each provider
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: [providers.smtp], checked when the file is loaded
    smtp: Smtp = field(default_factory=Smtp)
    bounces: Bounces = field(default_factory=Bounces)
    #: per-list settings ([lists.readers] ...) for the subscribe form
    lists: dict[str, ListSettings] = field(default_factory=dict)
    path: Path | None = field(default=None, metadata={"derived": True})

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


#: the tables of newsletter.toml, in the order ``newsletter init`` writes them
_SECTIONS: dict[str, type] = {
    "sender": Sender,
    "brand": Brand,
    "series": SeriesStyle,
    "sending": Sending,
    "notify": Notify,
    "web": Web,
    "dns": Dns,
    "tracking": Tracking,
    "feeds": Feeds,
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
    names = {f.name: f for f in fields(obj) if is_setting(f)}
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
        object.__setattr__(obj, key, value)  # (derived by the caller, once all are checked)


def _required(value: str, source: str, section: str, key: str) -> None:
    if not value.strip():
        raise ConfigError(f"{source}: [{section}] needs '{key}'")


def _tables(value: Any, source: str, key: str, example: str) -> dict[str, dict[str, Any]]:
    """``[key.NAME]`` tables (providers, lists)."""
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"{source}: '{key}' must hold tables like [{key}.{example}]")
    return value


# --- one loader per table: (cfg, key, value, source) ---------------------------------
def _load_section(cfg: Config, key: str, value: Any, source: str) -> None:
    """``[sender]``, ``[sending]`` ...: checked, then its typed values derived."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: '{key}' must be a table ([{key}])")
    section = getattr(cfg, key)
    _fill(section, value, source, key)
    if hasattr(section, "check"):
        section.check(source)
    _derive(section)


def _derive(section: Any) -> None:
    """A section's typed values, from its settings just read."""
    if isinstance(section, Typed):
        section.derive()


def _load_providers(cfg: Config, key: str, value: Any, source: str) -> None:
    cfg.providers = _tables(value, source, key, "postmark")
    if "smtp" in value:
        _fill(cfg.smtp, value["smtp"], source, "providers.smtp")
        _required(cfg.smtp.host, source, "providers.smtp", "host")


def _load_bounces(cfg: Config, key: str, value: Any, source: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: 'bounces' must be a table ([bounces])")
    table = dict(value)
    imap = table.pop("imap", None)
    _fill(cfg.bounces, table, source, "bounces")
    _derive(cfg.bounces)
    if imap is not None:
        if not isinstance(imap, dict):
            raise ConfigError(f"{source}: 'bounces.imap' must be a table ([bounces.imap])")
        cfg.bounces.imap = Imap()
        _fill(cfg.bounces.imap, imap, source, "bounces.imap")
        for name in ("host", "user"):
            _required(getattr(cfg.bounces.imap, name), source, "bounces.imap", name)


def _load_lists(cfg: Config, key: str, value: Any, source: str) -> None:
    for name, table in _tables(value, source, key, "readers").items():
        settings = ListSettings()
        _fill(settings, table, source, f"lists.{name}")
        settings.confirm_expiry_interval = parse_interval(
            settings.confirm_expiry, f"{source}: [lists.{name}] confirm_expiry"
        )
        settings.page = _optional_url(settings.page, f"{source}: [lists.{name}] page")
        settings.language = _language(optional=True)(
            settings.language, f"{source}: setting 'lists.{name}.language'"
        )
        cfg.lists[name] = settings


def _load_top(cfg: Config, key: str, value: Any, source: str) -> None:
    """``database_url``, ``issues_dir``, ``templates_dir``."""
    if key not in _TOP:
        raise _unknown(source, key, sorted(_TOP))
    if not isinstance(value, str):
        raise ConfigError(f"{source}: setting '{key}' expected text, got {value!r}")
    setattr(cfg, key, value)


_LOADERS: dict[str, Callable[[Config, str, Any, str], None]] = {
    **{name: _load_section for name in _SECTIONS},
    "providers": _load_providers,
    "bounces": _load_bounces,
    "lists": _load_lists,
}


def _finish(cfg: Config) -> Config:
    """The settings that come from the environment."""
    secret = secrets.read(SECRET_ENV)
    secrets.register_env(*secrets.WEBHOOK_ENV)  # read by the web app on a provider's request
    if SECRET_ENV in os.environ and len(secret) < SECRET_MIN_LENGTH:
        raise ConfigError(
            f"${SECRET_ENV}: expected at least {SECRET_MIN_LENGTH} characters, got {len(secret)}",
            hint="unset it to use a generated secret, or set a longer one",
        )
    return cfg


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(
            f"{path}: no such configuration file", hint="run 'newsletter init DIR' to create one"
        )
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Path | str | None = None) -> Config:
    """Read newsletter.toml (``path``, $NEWSLETTER_CONFIG, or ./newsletter.toml if present)."""
    if path is None:
        env = os.environ.get("NEWSLETTER_CONFIG")
        path = Path(env) if env else Path.cwd() / CONFIG_NAME
        if not path.exists():
            return _finish(Config(root=Path.cwd()))
    path = Path(path)
    data = _read(path)
    cfg = Config(root=path.resolve().parent, path=path.resolve())
    for key, value in data.items():
        _LOADERS.get(key, _load_top)(cfg, key, value, str(path))
    return _finish(cfg)
