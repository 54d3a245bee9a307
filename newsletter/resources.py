"""Folders shipped beside the code: the templates and the example issues.

In a wheel they are the subpackages ``newsletter.templates`` and ``newsletter.examples``;
in a source checkout (or an editable install) they are the repository's ``templates/``
and ``issues/``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _shipped(package: str, repo_folder: str, marker: str) -> Path:
    try:
        path = Path(str(resources.files(package)))
        if (path / marker).exists():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return _REPO / repo_folder


def templates_dir() -> Path:
    return _shipped("newsletter.templates", "templates", "email.mjml.j2")


def examples_dir() -> Path:
    return _shipped("newsletter.examples", "issues", "calmer-mornings.md")
