"""The issue files the desk reads and edits: the files in ``issues/`` stay the source of
truth, so the editor can switch between the desk, a text editor and the CLI at any time."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..importers.frontmatter import read_front_matter, split_front_matter
from ..pipeline import check_issue_text

#: the file names the desk opens: a slug, never a path
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")
#: the per-part fields the desk edits in place
PART_FIELDS = ("subject", "preheader", "recap", "teaser")
#: the form's fields of a part's own call to action (``parts: {K: {cta: {label, url}}}``)
CTA_FIELDS = ("cta_label", "cta_url")


def issue_path(issues_dir: Path, name: str) -> Path | None:
    """``issues/NAME.md`` when NAME is a plain file name and the file exists."""
    if not NAME.match(name) or name.endswith(".md"):
        return None
    path = issues_dir / f"{name}.md"
    return path if path.is_file() else None


def issue_files(issues_dir: Path) -> list[Path]:
    """The issue files, newest first."""
    if not issues_dir.is_dir():
        return []
    found = [p for p in issues_dir.glob("*.md") if NAME.match(p.stem)]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None], source: str) -> None:
    """Apply ``change`` to the issue's front matter and write the file back, checked as
    ``split`` would read it before it replaces the old one (an InputError naming
    ``source`` otherwise; the file is then unchanged)."""
    text = path.read_text(encoding="utf-8")
    fmt, _raw, body_line = split_front_matter(text, str(path))
    if fmt != "yaml":
        raise InputError(str(path), "has no YAML front matter", line=1)
    data: dict[str, Any] = dict(read_front_matter(text, str(path)).data)
    change(data)
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    body = "".join(text.splitlines(keepends=True)[body_line:])
    new = f"---\n{front}---\n{body}"
    check_issue_text(new, path, source=source)
    write_atomically(path, new)


def set_part_fields(path: Path, part: int, values: dict[str, str]) -> None:
    """Write ``parts: {PART: {...}}`` overrides into the issue's front matter; an empty
    value removes that override."""

    def change(data: dict[str, Any]) -> None:
        parts = data.get("parts") or {}
        if not isinstance(parts, dict):
            raise InputError(str(path), "field 'parts': expected a mapping of part numbers")
        own: dict[str, Any] = dict(parts.get(part) or {})
        if any(k in values for k in CTA_FIELDS):
            _set_part_cta(own, values.pop("cta_label", ""), values.pop("cta_url", ""))
        for key, value in values.items():
            if key not in PART_FIELDS:
                raise InputError(f"part {part}", f"field {key!r} cannot be edited here")
            value = " ".join(value.split()) if key in ("subject", "preheader") else value.strip()
            if value:
                own[key] = value
            else:
                own.pop(key, None)
        parts = {k: v for k, v in parts.items() if k != part}
        if own:
            parts[part] = own
        if parts:
            data["parts"] = dict(sorted(parts.items()))
        else:
            data.pop("parts", None)

    values = dict(values)
    _rewrite(path, change, f"part {part}")


def _set_part_cta(own: dict[str, Any], label: str, url: str) -> None:
    """A part's own button (empty label and link: the issue's button again)."""
    label, url = " ".join(label.split()), url.strip()
    if label or url:
        own["cta"] = {"label": label or "Find out more", **({"url": url} if url else {})}
    else:
        own.pop("cta", None)


def set_cta(path: Path, label: str, url: str) -> None:
    """The issue's call to action (``cta: {label, url}``): the button every part ends with."""
    label, url = " ".join(label.split()), url.strip()

    def change(data: dict[str, Any]) -> None:
        if label or url:
            data["cta"] = {"label": label or "Find out more", **({"url": url} if url else {})}
        else:
            data.pop("cta", None)

    _rewrite(path, change, "call to action")


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step: a reader sees the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
