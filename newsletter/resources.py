"""Folders shipped beside the code: the templates and the example issues.

In a wheel they are the subpackages ``newsletter.templates`` and ``newsletter.examples``;
in a source checkout (or an editable install) they are the repository's ``templates/``
and ``issues/``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _shipped(package: str, repo_folder: str, marker: str) -> Path:
    # find_spec, not importlib.resources: these folders are namespace packages (no
    # __init__.py), for which resources.files() returns a MultiplexedPath.
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / marker).exists():
            return Path(location)
    return _REPO / repo_folder


def templates_dir() -> Path:
    return _shipped("newsletter.templates", "templates", "email.mjml.j2")


def examples_dir() -> Path:
    return _shipped("newsletter.examples", "issues", "calmer-mornings.md")
