"""Signed tokens for links that act on a subscriber (unsubscribe, stop this series,
preferences and the data download; confirming a subscription, whose tokens expire).

An HMAC (itsdangerous) with a secret from $NEWSLETTER_SECRET, or else one generated once
and kept in the database, over ``[subscriber_id, series_id, key]`` (confirmation links:
``[subscriber_id, list_id, key]``): ``key`` is the subscriber's random ``token_key``. A
token cannot be forged or guessed from a subscriber id, an altered one is refused, and one
made for a subscriber opens nothing once that subscriber is erased, even if another row
were ever to get the same id: the pages check the key against the row
(:func:`newsletter.store.subscribers.holds`).

Links sent before keys existed (``[subscriber_id, series_id]``, :meth:`Signer.legacy_token`)
are still read, with ``key`` None: they open only a subscriber marked ``legacy_links``
(one who existed before the upgrade).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from . import secrets
from .config import SECRET_ENV, SECRET_MIN_LENGTH
from .errors import ConfigError

SALT = "newsletter.unsubscribe.v1"
CONFIRM_SALT = "newsletter.confirm.v1"
#: the token written by ``render`` (no subscriber yet): the served page calls it invalid
SAMPLE_TOKEN = "sample-token"


def unsubscribe_link(base_url: str, token: str) -> str:
    """The address ``serve`` answers for a token: ``{base_url}/u/{token}``."""
    return f"{base_url.rstrip('/')}/u/{token}"


#: what a key may hold to be written into a token as it is (JSON needs no escaping)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class UnsubscribeToken:
    subscriber_id: int
    campaign_id: int | None
    #: the subscriber's token_key signed into the link; None for a link made before keys
    key: str | None = None


@dataclass(frozen=True)
class ConfirmToken:
    """A confirmation link: this subscriber asked to join this list."""

    subscriber_id: int
    list_id: int
    key: str | None = None


class ConfirmRefused(Exception):
    """The confirmation link is forged, altered, or expired (``expired`` says which)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


class Signer:
    def __init__(self, secret: str) -> None:
        if len(secret) < SECRET_MIN_LENGTH:
            raise ConfigError(
                f"${SECRET_ENV}: expected at least {SECRET_MIN_LENGTH} characters, "
                f"got {len(secret)}"
            )
        self._s = URLSafeSerializer(secret, salt=SALT)
        self._timed = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT)
        # The key itsdangerous derives on every call, derived once: a token is then one
        # HMAC over a few bytes (a million of them in seconds), as itsdangerous signs.
        self._mac = hmac.new(self._s.make_signer().derive_key(), digestmod=hashlib.sha1)

    @classmethod
    def from_env(cls, fallback: str | Callable[[], str]) -> Signer:
        """With $NEWSLETTER_SECRET, else FALLBACK: asked for only when that is not set (a
        callable such as ``store.signing_secret``, which generates and keeps one)."""
        # Taken as it is (a passphrase may hold spaces, and changing the secret would break
        # every link already sent), but never shown.
        secret = os.environ.get(SECRET_ENV) or ""
        if not secret:
            secret = fallback if isinstance(fallback, str) else fallback()
        secrets.register(secret)
        return cls(secret)

    def token(self, subscriber_id: int, campaign_id: int | None = None, *, key: str) -> str:
        """The URL-safe token of ``[subscriber_id, campaign_id, key]``, as itsdangerous'
        ``URLSafeSerializer`` reads it (never compressed), built directly: one HMAC over a
        few bytes, a million in seconds."""
        if (
            type(subscriber_id) is not int
            or not (campaign_id is None or type(campaign_id) is int)
            or not _PLAIN_KEY.fullmatch(key)
        ):
            raise ValueError("a token names integer ids and a key of URL-safe characters")
        data = f'[{subscriber_id},{"null" if campaign_id is None else campaign_id},"{key}"]'
        payload = urlsafe_b64encode(data.encode()).rstrip(b"=")
        mac = self._mac.copy()
        mac.update(payload)
        return (payload + b"." + urlsafe_b64encode(mac.digest()).rstrip(b"=")).decode()

    def legacy_token(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        """A link as made before keys (``[subscriber_id, campaign_id]``): no longer sent,
        still read for the subscribers who had them."""
        return str(self._s.dumps([subscriber_id, campaign_id]))

    def verify(self, token: str) -> UnsubscribeToken | None:
        """The token's ids and key if its signature holds (whether it still opens anything
        is for the subscriber's row to say: :func:`~newsletter.store.subscribers.holds`)."""
        try:
            found = self._s.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        ids = _ids(found, optional=True)
        return UnsubscribeToken(*ids) if ids else None

    def unsubscribe_url(
        self, base_url: str, subscriber_id: int, campaign_id: int | None = None, *, key: str
    ) -> str:
        return unsubscribe_link(base_url, self.token(subscriber_id, campaign_id, key=key))

    def preferences_url(
        self, base_url: str, subscriber_id: int, campaign_id: int | None = None, *, key: str
    ) -> str:
        token = self.token(subscriber_id, campaign_id, key=key)
        return f"{base_url.rstrip('/')}/preferences/{token}"

    def confirm_token(self, subscriber_id: int, list_id: int, *, key: str) -> str:
        return str(self._timed.dumps([subscriber_id, list_id, key]))

    def verify_confirm(self, token: str, max_age_seconds: int) -> ConfirmToken:
        """The token's subscriber and list; ConfirmRefused if forged or older than max_age."""
        try:
            found = self._timed.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise ConfirmRefused(expired=True) from None
        except (BadSignature, ValueError, TypeError):
            raise ConfirmRefused(expired=False) from None
        ids = _ids(found, optional=False)
        if ids is None or ids[1] is None:
            raise ConfirmRefused(expired=False)
        return ConfirmToken(ids[0], ids[1], ids[2])


def _ids(found: object, *, optional: bool) -> tuple[int, int | None, str | None] | None:
    """``[id, id]`` (made before keys) or ``[id, id, key]``; None for anything else. The
    second id may be null where OPTIONAL (a link not about one series)."""
    if not isinstance(found, list) or len(found) not in (2, 3):
        return None
    sid, other, *rest = found
    key = rest[0] if rest else None
    if type(sid) is not int or (rest and not isinstance(key, str)):
        return None
    if not (type(other) is int or (optional and other is None)):
        return None
    return sid, other, key
