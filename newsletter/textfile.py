"""Reading a user's text file: one clear error for every way it can be unreadable."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError


def read_text(
    path: Path,
    *,
    expected: str,
    limit: int | None = None,
    utf8_hint: str = "save it as UTF-8 and try again",
) -> str:
    """The file's text (UTF-8, with or without BOM), or an InputError naming the file (and
    the line, for a bad byte) and what was expected."""
    name = str(path)
    if not path.exists():
        raise InputError(name, "no such file")
    if path.is_dir():
        raise InputError(name, "is a folder, expected a file")
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise InputError(
            name,
            f"is {size / 1_048_576:.1f} MB; the most it can be is {limit / 1_048_576:.0f} MB",
            hint="split it into smaller files",
        )
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(name, "is UTF-16 text", hint=utf8_hint)
    if b"\x00" in data[:8192]:
        raise InputError(name, f"is a binary file, expected {expected}")
    if not data.strip():
        raise InputError(name, f"is empty, expected {expected}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            name, f"is not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line, hint=utf8_hint
        ) from None
