"""What an import kept and dropped, line by line, and the editor's quick corrections.

``newsletter import`` prints a numbered outline (the source's line, kept or dropped,
the words); ``--start LINE|TEXT`` and ``--end LINE|TEXT`` say where the article runs,
overriding what the importer found, so the editor never edits the source by hand. The
outline is kept beside the issue file (``SLUG.import.json``) so that
``newsletter import --review ISSUE`` shows it again, and can re-run the import.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..blocks import Article, Block, Heading, Image, ListBlock
from ..errors import InputError

_NOTE = re.compile(r"^line (\d+): dropped (.*)$", re.S)


@dataclass(frozen=True)
class Row:
    line: int  # in the source, from 1 (0: not found there)
    status: str  # "title", "kept" or "dropped"
    what: str


def is_drop_note(note: str) -> bool:
    """A note that says a line was dropped (shown in the outline)."""
    return bool(_NOTE.match(note))


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def bound(spec: str, lines: list[str], option: str, *, after: int = 0) -> int:
    """The line a ``--start``/``--end`` value names: a line number, or the first line
    (after line ``after``) that holds the text; an InputError naming the option if none."""
    spec = spec.strip()
    if spec.isdigit():
        number = int(spec)
        if not 1 <= number <= len(lines):
            raise InputError(option, f"line {number} is not in the source ({len(lines)} lines)")
        return number
    needle = _squash(spec)
    for number, line in enumerate(lines, start=1):
        if number > after and needle and needle in _squash(line):
            return number
    raise InputError(option, f"no line of the source holds {spec!r}")


def bounds(text: str, start: str, end: str) -> tuple[int, int] | None:
    """(first line, last line) of the article as the editor gave them, or None."""
    if not start and not end:
        return None
    lines = text.splitlines()
    first = bound(start, lines, "--start") if start else 1
    last = bound(end, lines, "--end", after=first - 1) if end else len(lines)
    if last < first:
        raise InputError("--end", f"line {last} comes before --start's line {first}")
    return first, last


def _label(block: Block) -> str:
    text = " ".join(block.text().split())
    if isinstance(block, Heading):
        return f"heading: {text}"
    if isinstance(block, Image):
        return f"image: {block.alt or block.src}"
    if isinstance(block, ListBlock):
        return f"list of {len(block.items)}: {text}"
    return f"{block.kind}: {text}"


def _find(needle: str, lines: list[str], start: int) -> int:
    """The first line from ``start`` (index) that holds the start of ``needle``."""
    key = _squash(needle)[:40]
    if not key:
        return 0
    for i in range(start, len(lines)):
        if key in _squash(lines[i]):
            return i + 1
    for i in range(0, min(start, len(lines))):
        if key in _squash(lines[i]):
            return i + 1
    return 0


def line_of(block: Block, lines: list[str], start: int = 0) -> int:
    words = block.text().strip().splitlines()
    return _find(words[0], lines, start) if words else 0


def outline_rows(article: Article, text: str) -> list[Row]:
    """Every kept block and every dropped line, in the order of the source."""
    lines = text.splitlines()
    rows: list[Row] = []
    if article.title:
        exact = [i + 1 for i, ln in enumerate(lines) if _squash(ln) == _squash(article.title)]
        line = exact[0] if exact else _find(article.title, lines, 0)
        rows.append(Row(line, "title", article.title))
    at = 0
    for block in article.blocks:
        line = line_of(block, lines, at)
        at = line if line else at
        rows.append(Row(line, "kept", _label(block)))
    for note in article.notes:
        m = _NOTE.match(note)
        if m:
            rows.append(Row(int(m.group(1)), "dropped", m.group(2)))
    ordered = sorted(enumerate(rows), key=lambda r: (r[1].line or _after(rows, r[0]), r[0]))
    return [r for _, r in ordered]


def _after(rows: list[Row], index: int) -> int:
    """A row whose line is unknown stands after the known row before it."""
    return next((rows[i].line for i in range(index - 1, -1, -1) if rows[i].line), 0)


def cut(article: Article, text: str, first: int, last: int) -> None:
    """Keep the blocks that stand between lines ``first`` and ``last`` of ``text`` (for
    Markdown and HTML, where the importer does not read line by line); noted."""
    lines = text.splitlines()
    kept: list[Block] = []
    at = 0
    for block in article.blocks:
        line = line_of(block, lines, at)
        at = line or at
        if line and not first <= line <= last:
            option = "--start" if line < first else "--end"
            words = " ".join(block.text().split())[:80]
            article.notes.append(f"line {line}: dropped by {option}: {words!r}")
        else:
            kept.append(block)
    article.blocks = kept


# the record kept beside the issue file


def record_path(issue: Path) -> Path:
    return issue.with_name(issue.stem + ".import.json")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_record(
    issue: Path, issue_text: str, source: str, options: dict[str, str], rows: list[Row]
) -> Path:
    path = record_path(issue)
    data = {
        "source": source,
        "options": {k: v for k, v in options.items() if v},
        "issue_sha256": digest(issue_text),
        "outline": [[r.line, r.status, r.what] for r in rows],
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Record:
    source: str
    options: dict[str, str]
    issue_sha256: str
    rows: list[Row]


def read_record(issue: Path) -> Record:
    path = record_path(issue)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record(
            source=str(data["source"]),
            options={str(k): str(v) for k, v in dict(data.get("options") or {}).items()},
            issue_sha256=str(data.get("issue_sha256") or ""),
            rows=[Row(int(r[0]), str(r[1]), str(r[2])) for r in data["outline"]],
        )
    except FileNotFoundError:
        raise InputError(
            str(issue), "no import record beside it", hint=f"{path.name} is written by import"
        ) from None
    except (ValueError, KeyError, TypeError, IndexError):
        raise InputError(str(path), "not an import record newsletter can read") from None


__all__ = [
    "Record",
    "Row",
    "bound",
    "bounds",
    "cut",
    "digest",
    "is_drop_note",
    "outline_rows",
    "read_record",
    "record_path",
    "write_record",
]
