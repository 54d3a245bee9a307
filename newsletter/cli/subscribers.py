"""Commands that queue and send (filled in by the scheduling work)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    pass
