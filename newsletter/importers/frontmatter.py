"""Front matter: the ``key: value`` header of a Markdown post or an issue file, read safely.

YAML is read once (libyaml's parser when it is installed), and the same parse gives the
values and the line of each key. It is refused when it is larger than 64 KB, nested
deeper than 20 levels or uses an alias: a few KB of anchors and aliases would otherwise
expand to gigabytes. Dates stay text, checked by :func:`date_text` with their line.

Importers read it leniently (``lenient=True``): a Jekyll header that is not valid YAML
(an unquoted colon in the title, which many old posts have) is read as flat
``key: value`` lines, with a note saying so; issue files are read strictly.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ..errors import InputError

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_DEPTH = 20
#: the first line of front matter text is line 2 of the file (line 1 is the fence)
FIRST_LINE = 2


class _Loader(_BaseLoader):
    """Safe YAML; timestamps stay text so a bad date is an error naming its field."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    SafeConstructor.construct_yaml_str,  # type: ignore[type-var]
)


#: the top-level front matter fields of our own issue format (see ``issuefile``)
ISSUE_FIELDS = (
    "title",
    "subtitle",
    "author",
    "url",
    "date",
    "cta",
    "series",
    "list",
    "tags",
    "parts",
    "source",
    "language",
)


@dataclass
class FrontMatter:
    fmt: str  # "yaml", "toml" or "" (the file has none)
    data: dict[str, Any] = field(default_factory=dict)
    #: line in the file of each key, dotted for nested ones ("series.parts")
    lines: dict[str, int] = field(default_factory=dict)
    #: number of lines before the body
    body_line: int = 0
    notes: list[str] = field(default_factory=list)


def split_front_matter(text: str, source: str) -> tuple[str, str, int]:
    """Return (format, front matter text, body line offset); format is yaml, toml or ''."""
    for fence, fmt in (("---", "yaml"), ("+++", "toml")):
        if text.startswith(fence + "\n") or text.startswith(fence + "\r\n"):
            lines = text.splitlines(keepends=True)
            for i in range(1, len(lines)):
                if lines[i].rstrip("\r\n") in (fence, "..." if fmt == "yaml" else fence):
                    return fmt, "".join(lines[1:i]), i + 1
            raise InputError(
                source,
                f"front matter opened with '{fence}' on line 1 is never closed",
                line=1,
                hint=f"add a line with just '{fence}' after the last field",
            )
    return "", "", 0


def read_front_matter(text: str, source: str, *, lenient: bool = False) -> FrontMatter:
    """The front matter of ``text`` (empty when it has none), or an InputError naming the
    line and what to change."""
    fmt, raw, body_line = split_front_matter(text, source)
    if not fmt:
        return FrontMatter("")
    size = len(raw.encode("utf-8"))
    if size > MAX_FRONT_MATTER_BYTES:
        raise InputError(
            source,
            f"front matter is {size // 1024} KB; the most it can be is "
            f"{MAX_FRONT_MATTER_BYTES // 1024} KB",
            line=1,
            hint="keep only the fields the issue needs",
        )
    if fmt == "toml":
        return FrontMatter(fmt, _load_toml(raw, source), _toml_lines(raw), body_line)
    try:
        data, lines = load_yaml(raw, source)
        return FrontMatter(fmt, data, lines, body_line)
    except _Unreadable as exc:
        if not lenient:
            raise exc.error from None
        data, lines = _flat_lines(raw, source)
        note = (
            f"line {exc.error.line or 1}: front matter is not valid YAML ({exc.problem}); "
            "read it as plain 'key: value' lines (quote values that contain ': ')"
        )
        return FrontMatter(fmt, data, lines, body_line, [note])


class _Unreadable(Exception):
    """Not valid YAML (the kind of error lenient reading gets past)."""

    def __init__(self, error: InputError, problem: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.problem = problem


def load_yaml(raw: str, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    """(values, key lines) of YAML front matter text, parsed once; see the module doc."""
    loader = _Loader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        lines = _check_nodes(node, source)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or "is not valid YAML")
        error = InputError(
            source,
            f"front matter {problem}",
            line=mark.line + FIRST_LINE if mark is not None else None,
            hint="check the indentation and quote values that contain ': '",
        )
        raise _Unreadable(error, problem) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InputError(source, "front matter must be 'key: value' lines", line=FIRST_LINE)
    return data, lines


def _check_nodes(root: yaml.Node, source: str) -> dict[str, int]:
    """Refuse aliases and deep nesting (walking each node once); return the key lines."""
    lines: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, int, int]] = [(root, "", 1, FIRST_LINE)]
    while stack:
        node, prefix, depth, where = stack.pop()
        if id(node) in seen:
            raise InputError(
                source,
                "front matter uses a YAML alias ('*name'); aliases are not allowed",
                line=where,
                hint="write the value out in full",
            )
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise InputError(
                source,
                f"front matter is nested more than {MAX_DEPTH} levels deep",
                line=node.start_mark.line + FIRST_LINE,
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                line = key.start_mark.line + FIRST_LINE
                name = f"{prefix}{key.value}" if isinstance(key, yaml.ScalarNode) else prefix
                lines.setdefault(name, line)
                stack.append((key, prefix, depth + 1, line))
                stack.append((value, name + ".", depth + 1, line))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                stack.append((item, prefix, depth + 1, item.start_mark.line + FIRST_LINE))
    return lines


_FLAT_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*:(?:\s+(.*?))?\s*$")
_FLAT_ITEM = re.compile(r"^\s*-\s+(.*?)\s*$")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _flat_lines(raw: str, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    """Front matter read as flat ``key: value`` lines (and ``- item`` lists under a key)."""
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    last = ""
    for i, text in enumerate(raw.splitlines()):
        number = i + FIRST_LINE
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        key = _FLAT_KEY.match(text)
        item = _FLAT_ITEM.match(text)
        if key and not text[0].isspace():
            last = key.group(1)
            value = _unquote(key.group(2) or "")
            if value.startswith("[") and value.endswith("]"):
                data[last] = [_unquote(v.strip()) for v in value[1:-1].split(",") if v.strip()]
            else:
                data[last] = value
            lines[last] = number
        elif item and last and (data[last] == "" or isinstance(data[last], list)):
            data[last] = [*(data[last] or []), _unquote(item.group(1))]
        elif last and text[0].isspace() and isinstance(data[last], str):
            data[last] = (data[last] + " " + text.strip()).strip()
        else:
            raise InputError(
                source,
                f"front matter line {text.strip()[:40]!r} is not 'key: value'",
                line=number,
                hint='put the value in quotes, e.g. title: "Part one: the start"',
            )
    return data, lines


def _load_toml(raw: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(source, f"front matter is not valid TOML: {exc}") from None


def _toml_lines(raw: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    for i, text in enumerate(raw.splitlines()):
        m = re.match(r"^\s*([A-Za-z_][\w-]*)\s*=", text)
        if m:
            lines.setdefault(m.group(1), i + FIRST_LINE)
    return lines


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\b")


def date_text(value: Any, source: str, line: int | None) -> str:
    """The front matter's date as text, or an InputError when it is not a real date."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date | dt.datetime | dt.time):  # TOML dates
        return str(value)
    text = str(value).strip()
    m = _ISO_DATE.match(text)
    if m:
        try:
            dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError as exc:
            raise InputError(
                source,
                f"expected a date like 2024-05-18, got {text!r} ({exc})",
                line=line,
                field="date",
            ) from None
    elif isinstance(value, bool | int | float | list | dict):
        raise InputError(
            source, f"expected a date like 2024-05-18, got {value!r}", line=line, field="date"
        )
    return text


__all__ = [
    "FrontMatter",
    "MAX_FRONT_MATTER_BYTES",
    "date_text",
    "load_yaml",
    "read_front_matter",
    "split_front_matter",
]
