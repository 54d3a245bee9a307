"""The WSGI entry point for the unsubscribe pages and the providers' webhooks:

    NEWSLETTER_CONFIG=/srv/newsletter/newsletter.toml \\
        gunicorn --bind 127.0.0.1:8025 --workers 2 newsletter.web.wsgi:app

The configuration is read once, from ``$NEWSLETTER_CONFIG`` (required: a server started in
the wrong folder must not quietly open a new, empty database). Secrets come from the
environment as for every command. ``newsletter serve`` stays the local development server.
"""

from __future__ import annotations

import os
import sys

from flask import Flask

from ..config import load_config
from ..errors import ConfigError, NewsletterError
from ..store import Store
from .app import create_app


def build() -> Flask:
    path = os.environ.get("NEWSLETTER_CONFIG", "").strip()
    if not path:
        raise ConfigError(
            "$NEWSLETTER_CONFIG is not set",
            hint="set it to the path of your newsletter.toml",
        )
    config = load_config(path)
    return create_app(Store(config.db_url), config)


try:
    app = build()
except NewsletterError as exc:  # one line in the server's log, not a traceback
    print(f"newsletter.web.wsgi: {exc}", file=sys.stderr)
    raise SystemExit(1) from None
