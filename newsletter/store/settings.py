"""Settings the application keeps in its database (beside the signing secret): the desk's
password hash."""

from __future__ import annotations

from sqlalchemy import delete, insert

from .core import Store
from .models import Setting


def put_setting(store: Store, key: str, value: str) -> None:
    """Set ``key`` to ``value``, replacing what was there, in one transaction."""
    with store.begin() as conn:
        conn.execute(delete(Setting).where(Setting.key == key))
        conn.execute(insert(Setting).values(key=key, value=value))
