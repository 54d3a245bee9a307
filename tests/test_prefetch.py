"""The import parses its next chunk in a background thread: the items still come in order,
an error comes in its place, and stopping early closes the source (the CSV file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.errors import InputError
from newsletter.prefetch import prefetched


def test_items_in_order_and_an_error_in_its_place() -> None:
    def rows() -> Iterator[int]:
        yield from range(5)
        raise InputError("list.csv", "unterminated quote", line=7)

    got: list[int] = []
    with pytest.raises(InputError, match="unterminated quote"):
        for item in prefetched(rows()):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_stopping_early_closes_the_source() -> None:
    closed: list[bool] = []

    def rows() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.append(True)

    items = prefetched(rows())
    assert [next(items), next(items)] == [0, 1]
    items.close()  # what a database error in the caller's loop does
    assert closed == [True]
