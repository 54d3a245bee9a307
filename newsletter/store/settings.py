"""Settings the application keeps in its database (beside the signing secret): the desk's
password hash. Read with ``Store.setting``."""

from __future__ import annotations

from .core import Store


def put_setting(store: Store, key: str, value: str) -> None:
    """Set ``key`` to ``value``, replacing what was there, in one transaction."""
    store.put_setting(key, value)
