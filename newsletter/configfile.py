"""``newsletter.toml`` written out: the commented file ``newsletter init`` writes
(``DEFAULT_TOML``), generated from the settings' fields in :mod:`.config` (their defaults
and descriptions), and the list of every setting the README's table is checked against."""

from __future__ import annotations

import json
import textwrap
from dataclasses import MISSING, Field, fields
from typing import Any

from .config import (
    Bounces,
    Brand,
    Config,
    Dns,
    Feeds,
    FetchSettings,
    Imap,
    ListSettings,
    Notify,
    Sender,
    Sending,
    SeriesStyle,
    Smtp,
    Tracking,
    Web,
    is_setting,
)

_HEAD = """\
# newsletter.toml: settings for this newsletter. Every setting has a default;
# uncomment and change what you need. Secrets (API keys, the signing secret)
# never go here: they come from environment variables.
"""

#: the providers' own settings ([providers.NAME], read by each provider)
_PROVIDERS_TOML = """\
# [providers.postmark]   # API key from $POSTMARK_SERVER_TOKEN
# message_stream = "broadcast"

# [providers.sendgrid]   # API key from $SENDGRID_API_KEY

# [providers.mailgun]    # API key from $MAILGUN_API_KEY
# domain = "mg.example.com"
# base_url = "https://api.eu.mailgun.net"   # EU region

# [providers.resend]     # API key from $RESEND_API_KEY

# [providers.ses]        # $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY; pip install 'newsletter[ses]'
# region = "eu-west-1"
"""

#: the file's tables in order, with their settings
_LAYOUT: list[tuple[str, type]] = [
    ("", Config),
    ("sender", Sender),
    ("brand", Brand),
    ("series", SeriesStyle),
    ("sending", Sending),
    ("notify", Notify),
    ("web", Web),
    ("dns", Dns),
    ("tracking", Tracking),
    ("lists.readers", ListSettings),
    ("feeds", Feeds),
    ("fetch", FetchSettings),
    ("providers", dict),
    ("providers.smtp", Smtp),
    ("bounces", Bounces),
    ("bounces.imap", Imap),
]
#: the tables written commented out (an example of each)
_COMMENTED = {"lists.readers", "providers.smtp", "bounces", "bounces.imap"}
#: the comment above a table
_INTROS = {
    "notify": "Who is told when something needs a person (a pause, a batch to decide, a bounce"
    " rate): at most one mail an hour.",
    "dns": "`newsletter domain check` looks up SPF, DKIM and DMARC for your sender's domain.",
    "tracking": "Off unless you turn them on: your readers may expect discretion.",
    "lists.readers": "How readers join a list through `newsletter form LIST` (double opt-in"
    " unless turned off).",
    "fetch": "Pages and feeds are fetched within one deadline, never from this machine or your"
    " network.",
    "providers.smtp": "Your own mail server; the password from $SMTP_PASSWORD.",
    "bounces": "Read bounces and complaints from a mailbox (for the smtp provider).",
    "bounces.imap": "The mailbox where bounces arrive; the password from $IMAP_PASSWORD.",
}
_WIDTH = 92


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # (a StrEnum too)
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def settings_of(cls: type) -> list[Field[Any]]:
    """The fields of ``cls`` that are settings (not derived values, not sub-tables)."""
    return [f for f in fields(cls) if is_setting(f) and "doc" in f.metadata]


def default_of(f: Field[Any]) -> Any:
    if f.default is MISSING and callable(f.default_factory):
        return f.default_factory()
    return f.default


def all_settings() -> list[tuple[str, Field[Any]]]:
    """Every setting of the file, named as the README's table names it (``database_url``,
    ``[sending] grace``, ``[lists.NAME] title``), with its field."""
    out = []
    for name, cls in _LAYOUT:
        table = "lists.NAME" if name.startswith("lists.") else name
        if cls is not dict:
            out += [(f"[{table}] {f.name}" if table else f.name, f) for f in settings_of(cls)]
    return out


def _comment(text: str, indent: str = "# ") -> list[str]:
    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent)


def _setting_lines(f: Field[Any], commented: bool) -> list[str]:
    default, example = default_of(f), f.metadata["example"]
    doc = f.metadata["doc"]
    if example is not None and default not in ("", []):
        doc = f"{doc}; default {toml_value(default)}" if doc else f"default {toml_value(default)}"
    prefix = "" if f.metadata["shown"] and not commented else "# "
    line = f"{prefix}{f.name} = {toml_value(default if example is None else example)}"
    if not doc:
        return [line]
    if len(line) + 4 + len(doc) <= _WIDTH:
        return [f"{line}   # {doc}"]
    return [*_comment(doc), line]


def _generate() -> str:
    out = [_HEAD]
    for name, cls in _LAYOUT:
        lines, commented = _comment(_INTROS.get(name, "")), name in _COMMENTED
        if cls is dict:
            out.append(_PROVIDERS_TOML)
            continue
        if name:
            lines.append(("# " if commented else "") + f"[{name}]")
        for f in settings_of(cls):
            lines += _setting_lines(f, commented)
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


DEFAULT_TOML = _generate()
