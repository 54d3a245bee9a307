"""Templates for the public web pages (subscribe answers, confirmation, preferences, the
archive) and the confirmation email: the editor's own copy in ``templates/web/`` first,
then the built-in one. Their words come from the catalogues (``{{ _("...") }}``), in the
language each environment is made for."""

from __future__ import annotations

import re

import jinja2
from markupsafe import Markup

from . import i18n, templatecache
from .config import Config
from .resources import templates_dir

FOLDER = "web"


def css(value: object) -> Markup:
    """An editor's setting inside a style (a colour, a font list): kept as written, minus
    what could end the declaration, the style attribute or the style element."""
    return Markup(re.sub(r"[<>{};\\\"&]", "", str(value)))


def environment(config: Config, language: str = "") -> jinja2.Environment:
    """Pages in ``language`` (default: ``[brand] language``); ``{{ language }}`` is set."""
    loaders: list[jinja2.BaseLoader] = []
    own = config.user_templates / FOLDER
    if own.is_dir():
        loaders.append(jinja2.FileSystemLoader(str(own)))
    loaders.append(jinja2.FileSystemLoader(str(templates_dir() / FOLDER)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml"), default_for_string=True, default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=templatecache.COMPILED,
    )
    env.filters["css"] = css
    env.globals["language"] = language or config.brand.language
    return i18n.install(env, language or config.brand.language)


def list_language(config: Config, list_name: str) -> str:
    """The language of a list's form, its answers and its confirmation email."""
    return config.list_settings(list_name).language or config.brand.language
