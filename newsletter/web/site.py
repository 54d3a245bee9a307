"""What every page of the web app shares: the store, the configuration, the signer and
the page templates (the editor's ``templates/web/`` first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jinja2
from flask import Response, current_app

from .. import i18n
from ..config import Config
from ..pages import environment, list_language
from ..providers import get_provider
from ..signing import Signer, UnsubscribeToken
from ..signup import Signups
from ..store import Store
from ..store.campaigns import head_of_first_part
from ..store.subscribers import holds

KEY = "newsletter"


@dataclass
class Site:
    store: Store
    config: Config
    signer: Signer
    signups: Signups
    env: jinja2.Environment
    #: the pages' templates per language (the default one is ``env``)
    envs: dict[str, jinja2.Environment] = field(default_factory=dict)

    @classmethod
    def create(cls, store: Store, config: Config) -> Site:
        return cls(
            store=store,
            config=config,
            signer=Signer.from_env(store.signing_secret),
            signups=Signups(store, config, lambda: get_provider(config)),
            env=environment(config),
        )

    def environment(self, language: str = "") -> jinja2.Environment:
        if not language or language == self.config.brand.language:
            return self.env
        if language not in self.envs:  # (a race makes one twice: harmless)
            self.envs[language] = environment(self.config, language)
        return self.envs[language]

    def gettext(self, language: str = "") -> Any:
        """``_`` for words a page shows from Python, in ``language``."""
        return i18n.translations(language or self.config.brand.language).gettext

    def render(self, template: str, *, language: str = "", **context: Any) -> str:
        return (
            self.environment(language)
            .get_template(template)
            .render(sender=self.config.sender, brand=self.config.brand, **context)
        )

    def page(
        self, template: str, status: int = 200, *, language: str = "", **context: Any
    ) -> Response:
        return Response(
            self.render(template, language=language, **context), status, mimetype="text/html"
        )

    def message(
        self, heading: str, message: str, status: int = 200, *, language: str = "", **context: Any
    ) -> Response:
        context.setdefault("back", "")
        context.setdefault("error", status >= 400)
        return self.page(
            "message.html", status, language=language, heading=heading, message=message, **context
        )

    def series_language(self, campaign_id: int | None) -> str:
        """The language of a link from a part: the series' (as its emails were sent), else
        ``[brand] language``."""
        if not campaign_id:
            return self.config.brand.language
        head = head_of_first_part(self.store, campaign_id)
        return i18n.html_language(head, default=self.config.brand.language)

    def list_language(self, list_name: str) -> str:
        return list_language(self.config, list_name)

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
