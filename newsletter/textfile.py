"""Reading a user's text file: one clear error for every way it can be unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from .errors import InputError


def not_a_folder(path: Path) -> None:
    """An InputError if ``path`` is a folder where a file is expected."""
    if path.is_dir():
        raise InputError(str(path), "is a folder, expected a file")


def open_text(path: Path, *, expected: str, utf8_hint: str) -> TextIO:
    """The file opened for reading as UTF-8 text (streamed, for large files), after the
    checks that can be made on its beginning. A bad byte further on raises
    UnicodeDecodeError while reading: see :func:`decode_error`."""
    name = str(path)
    if not path.exists():
        raise InputError(name, "no such file")
    not_a_folder(path)
    with path.open("rb") as f:
        head = f.read(8192)
    _check_head(name, head, expected, utf8_hint)
    return path.open(encoding="utf-8-sig", newline="")


def decode_error(path: Path, utf8_hint: str) -> InputError:
    """The error for a file that stopped decoding as UTF-8 while streamed: it names the
    file's physical line with the first bad byte (a decoder reads ahead, so where the
    reader stood is not that line)."""
    line = 0
    with path.open("rb") as f:
        for line, raw in enumerate(f, start=1):  # noqa: B007 - the line is the result
            try:
                # A newline byte is never inside a UTF-8 sequence: lines decode alone.
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return InputError(
                    str(path),
                    f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    line=line,
                    hint=utf8_hint,
                )
    return InputError(str(path), "is not UTF-8 text", line=line or None, hint=utf8_hint)


def _utf16_without_bom(data: bytes) -> bool:
    """Mostly-ASCII UTF-16 text: every other byte is zero, the others are not."""
    even, odd = data[0::2], data[1::2]
    if len(data) < 4:
        return False
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / max(len(odd), 1)
    return max(zeros_even, zeros_odd) > 0.5 and min(zeros_even, zeros_odd) < 0.05


def _check_head(name: str, data: bytes, expected: str, utf8_hint: str) -> None:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(name, "is UTF-16 text", hint=utf8_hint)
    if _utf16_without_bom(data[:8192]):
        raise InputError(name, "is UTF-16 text (without a byte order mark)", hint=utf8_hint)
    if b"\x00" in data[:8192]:
        raise InputError(name, f"is a binary file, expected {expected}")
    if not data.strip():
        raise InputError(name, f"is empty, expected {expected}")


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
    not_a_folder(path)
    size = path.stat().st_size
    if limit is not None and size > limit:
        raise InputError(
            name,
            f"is {size / 1_048_576:.1f} MB; the most it can be is {limit / 1_048_576:.0f} MB",
            hint="split it into smaller files",
        )
    data = path.read_bytes()
    _check_head(name, data[:8192] if data[:8192].strip() else data, expected, utf8_hint)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            name, f"is not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line, hint=utf8_hint
        ) from None
