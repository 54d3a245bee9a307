"""What every page of the web app shares: the store, the configuration, the signer and
the page templates (the editor's ``templates/web/`` first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from flask import Response, current_app

from ..config import Config
from ..pages import environment
from ..providers import get_provider
from ..signing import Signer, UnsubscribeToken
from ..signup import Signups
from ..store import Store
from ..store.subscribers import holds

KEY = "newsletter"


@dataclass
class Site:
    store: Store
    config: Config
    signer: Signer
    signups: Signups
    env: jinja2.Environment

    @classmethod
    def create(cls, store: Store, config: Config) -> Site:
        return cls(
            store=store,
            config=config,
            signer=Signer.from_env(store.signing_secret),
            signups=Signups(store, config, lambda: get_provider(config)),
            env=environment(config),
        )

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(
            sender=self.config.sender, brand=self.config.brand, **context
        )

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        return Response(self.render(template, **context), status, mimetype="text/html")

    def message(self, heading: str, message: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("back", "")
        context.setdefault("error", status >= 400)
        return self.page("message.html", status, heading=heading, message=message, **context)

    def reader(self, token: str) -> UnsubscribeToken | None:
        """What an unsubscribe or preferences link names, if it is genuine and still its
        subscriber's (None for a forged link, or one of a subscriber erased since)."""
        found = self.signer.verify(token)
        if found is None or not holds(self.store, found.subscriber_id, found.key):
            return None
        return found

    @property
    def base_url(self) -> str:
        return self.config.web.base_url.rstrip("/")


def site() -> Site:
    found: Site = current_app.extensions[KEY]
    return found
