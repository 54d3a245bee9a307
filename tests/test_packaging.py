"""The wheel holds every package and data file: an editable install (the tests') would
hide a missing one, and every command importing it would fail for a user."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch

from .conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_package_is_listed() -> None:
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "newsletter").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    missing = found - set(SETUPTOOLS["packages"])
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_every_template_and_data_file_is_shipped() -> None:
    dirs = {"newsletter": REPO / "newsletter", **SETUPTOOLS["package-dir"]}
    unshipped = []
    for package, patterns in SETUPTOOLS["package-data"].items():
        root = REPO / dirs[package] if package in dirs else REPO / package.replace(".", "/")
        for path in root.rglob("*"):
            if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(root).as_posix()
            if "/" in rel and (root / rel.split("/")[0] / "__init__.py").exists():
                continue  # a sub-package's own file: its own entry covers it
            if not any(fnmatch(rel, pat) for pat in patterns):
                unshipped.append(f"{package}: {rel}")
    assert not unshipped, f"add to [tool.setuptools.package-data]: {unshipped}"
