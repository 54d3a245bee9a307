"""Signed tokens for links that act on a subscriber (unsubscribe, stop this series,
preferences; confirming a subscription, whose tokens expire).

An HMAC (itsdangerous) over the subscriber and series ids with a secret from
$NEWSLETTER_SECRET, or else one generated once and kept in the database. A token cannot
be forged or guessed from a subscriber id, and an altered one is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import urlsafe_b64encode
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


@dataclass(frozen=True)
class UnsubscribeToken:
    subscriber_id: int
    campaign_id: int | None


@dataclass(frozen=True)
class ConfirmToken:
    """A confirmation link: this subscriber asked to join this list."""

    subscriber_id: int
    list_id: int


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
        # HMAC over a few bytes (a million of them in seconds), the same bytes as before.
        self._mac = hmac.new(self._s.make_signer().derive_key(), digestmod=hashlib.sha1)

    @classmethod
    def from_env(cls, fallback: str) -> Signer:
        # Taken as it is (a passphrase may hold spaces, and changing the secret would break
        # every link already sent), but never shown.
        secret = os.environ.get(SECRET_ENV) or fallback
        secrets.register(secret)
        return cls(secret)

    def token(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        """itsdangerous' URL-safe token of ``[subscriber_id, campaign_id]``, built directly
        (the same string ``URLSafeSerializer.dumps`` gives)."""
        if type(subscriber_id) is not int or not (campaign_id is None or type(campaign_id) is int):
            return str(self._s.dumps([subscriber_id, campaign_id]))
        data = f"[{subscriber_id},{'null' if campaign_id is None else campaign_id}]".encode()
        if not _incompressible(data):  # itsdangerous may compress it: let it decide
            return str(self._s.dumps([subscriber_id, campaign_id]))
        payload = urlsafe_b64encode(data).rstrip(b"=")
        mac = self._mac.copy()
        mac.update(payload)
        return (payload + b"." + urlsafe_b64encode(mac.digest()).rstrip(b"=")).decode()

    def verify(self, token: str) -> UnsubscribeToken | None:
        try:
            sid, cid = self._s.loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(sid, int) or not (cid is None or isinstance(cid, int)):
            return None
        return UnsubscribeToken(sid, cid)

    def unsubscribe_url(
        self, base_url: str, subscriber_id: int, campaign_id: int | None = None
    ) -> str:
        return unsubscribe_link(base_url, self.token(subscriber_id, campaign_id))

    def preferences_url(
        self, base_url: str, subscriber_id: int, campaign_id: int | None = None
    ) -> str:
        return f"{base_url.rstrip('/')}/preferences/{self.token(subscriber_id, campaign_id)}"

    def confirm_token(self, subscriber_id: int, list_id: int) -> str:
        return str(self._timed.dumps([subscriber_id, list_id]))

    def verify_confirm(self, token: str, max_age_seconds: int) -> ConfirmToken:
        """The token's subscriber and list; ConfirmRefused if forged or older than max_age."""
        try:
            sid, lid = self._timed.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise ConfirmRefused(expired=True) from None
        except (BadSignature, ValueError, TypeError):
            raise ConfirmRefused(expired=False) from None
        if not isinstance(sid, int) or not isinstance(lid, int):
            raise ConfirmRefused(expired=False)
        return ConfirmToken(sid, lid)


def _incompressible(data: bytes) -> bool:
    """Whether zlib cannot shorten ``data`` (so itsdangerous leaves it uncompressed),
    without running zlib (its set-up costs more than the signature): with no 3 bytes
    repeated, deflate has nothing to match and only literals, and for 20 bytes or fewer
    its block headers and checksum outweigh any saving from short literal codes."""
    return len(data) <= 20 and len({data[i : i + 3] for i in range(len(data) - 2)}) == len(data) - 2
