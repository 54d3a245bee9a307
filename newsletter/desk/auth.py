"""Who may use the desk, and proof that a form came from the desk itself.

Two ways in: ``newsletter desk`` prints a one-time sign-in link (a random token, as
Jupyter does) that works once; under the WSGI app the editor signs in with the password set
by ``newsletter desk password`` (an Argon2 hash in the database; failed attempts are
limited per address). Either way the session is a signed, HttpOnly, SameSite=Strict cookie
(Secure when the desk is served over https), and every state-changing request carries the
session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from flask import abort, request, session

from ..store import Store

PASSWORD_SETTING = "desk_password"
#: failed password attempts allowed per address in WINDOW seconds
ATTEMPTS = 5
WINDOW = 15 * 60
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


@dataclass
class Gate:
    """The desk's door: the one-time token (kept as a hash, used once), the stored password
    hash and the failed attempts per address."""

    store: Store
    token_hash: bytes | None = None
    _used: bool = False
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def with_token(cls, store: Store) -> tuple[Gate, str]:
        token = secrets.token_urlsafe(32)
        return cls(store, hashlib.sha256(token.encode()).digest()), token

    def take_token(self, token: str) -> bool:
        """True once for the right token; every later use, and any other token, is refused."""
        if self.token_hash is None:
            return False
        given = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        with self._lock:
            if self._used or not hmac.compare_digest(given, self.token_hash):
                return False
            self._used = True
            return True

    @property
    def has_password(self) -> bool:
        return bool(self.store.setting(PASSWORD_SETTING))

    def limited(self, address: str) -> bool:
        """Whether ``address`` has used up its failed attempts for now."""
        with self._lock:
            seen = self._failures.get(address)
            if not seen:
                return False
            while seen and seen[0] < time.monotonic() - WINDOW:
                seen.popleft()
            return len(seen) >= ATTEMPTS

    def check_password(self, address: str, password: str) -> bool:
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        stored = self.store.setting(PASSWORD_SETTING)
        ok = False
        if stored:
            try:
                ok = PasswordHasher().verify(stored, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if not ok:
            with self._lock:
                self._failures.setdefault(address, deque()).append(time.monotonic())
        return ok


def sign_in() -> None:
    """Start a fresh session (a new CSRF token; nothing of an earlier session carries over)."""
    session.clear()
    session.permanent = True
    session["editor"] = True
    session["csrf"] = secrets.token_urlsafe(32)


def signed_in() -> bool:
    return bool(session.get("editor"))


def csrf_token() -> str:
    return str(session.get("csrf", ""))


def require_csrf() -> None:
    """Refuse (403) a state-changing request without this session's token."""
    sent = request.form.get("csrf", "") or request.headers.get("X-CSRF-Token", "")
    expected = csrf_token()
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, "This form is out of date or did not come from the desk: reload the page.")
