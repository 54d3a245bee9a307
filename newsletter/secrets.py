"""Secrets (API keys, signing keys): read from the environment, never shown.

:func:`read` takes ``$NAME`` stripped of the whitespace around it (a key pasted from a
file often ends in a newline) and refuses, with a one-line error, a key with whitespace
inside. Every secret read (or given to :func:`register`, or named in :data:`WEBHOOK_ENV`, which
:func:`register_env` remembers when the configuration is loaded) is remembered, and :func:`scrub`
removes it, in every form it takes in a message, from any text: raw, escaped as ``repr``
or JSON write it, URL-encoded, and base64-encoded inside a longer value (HTTP Basic's
``user:key``), each with and without the stray newline. Errors recorded for deliveries,
events, printed messages and log records (a record factory) all pass through it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

from .errors import ConfigError

MASK = "***"
#: shorter secrets are still scrubbed raw, but not by their base64 fragments
_MIN_FRAGMENT = 8

#: secrets read only when a request needs them (each provider's webhook key): remembered
#: from the start of every command and of the web app, so that no message or log shows one
#: before (or without) its first use
WEBHOOK_ENV = (
    "POSTMARK_WEBHOOK_AUTH",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "RESEND_WEBHOOK_SECRET",
)

_lock = threading.Lock()
_forms: set[str] = set()
_pattern: re.Pattern[str] | None = None
_factory_installed = False


def read(name: str) -> str:
    """``$NAME`` without surrounding whitespace ("" when unset), remembered for scrubbing."""
    raw = os.environ.get(name, "")
    value = raw.strip()
    if any(c.isspace() for c in value):
        raise ConfigError(
            f"${name} holds whitespace inside the key; expected the key alone",
            hint="copy the key again from the provider's dashboard and set it without spaces",
        )
    register(value, raw)
    return value


def register_env(*names: str) -> None:
    """Remember the secrets in these environment variables (as set, and stripped) for
    scrubbing, without checking them: the code that uses one reads it with :func:`read`."""
    register(*(os.environ.get(name, "") for name in names))


def register(*secrets: str) -> None:
    """Remember secrets so that :func:`scrub` removes them."""
    global _pattern
    new = set()
    for secret in secrets:
        if secret and secret.strip():
            new |= forms(secret) | forms(secret.strip())
    with _lock:
        if new <= _forms:
            return
        _forms.update(new)
        ordered = sorted(_forms, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(f) for f in ordered))
    _install_log_factory()


def forms(secret: str) -> set[str]:
    """Every way SECRET may be written in a message."""
    out = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
        quote(secret, safe=""),
        quote_plus(secret),
    }
    raw = secret.encode()
    if len(raw) >= _MIN_FRAGMENT:
        # In base64 of any bytes holding the secret (``api:KEY``, ``KEY\n``), the characters
        # made only of the secret's bits are one of three fragments, by its offset modulo 3.
        for offset in range(3):
            encoded = base64.b64encode(b"\0" * offset + raw).decode()
            fragment = encoded[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6]
            if len(fragment) >= _MIN_FRAGMENT:
                out |= {fragment, fragment.replace("+", "-").replace("/", "_")}
    return {f for f in out if f}


def scrub(text: str) -> str:
    """TEXT with every form of every known secret replaced by ``***``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def _install_log_factory() -> None:
    """Scrub every log record's message as it is made, whatever logger or handler."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging reports it later
            return record
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
