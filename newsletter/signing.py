"""Signed tokens for links that act on a subscriber (unsubscribe, stop this series,
preferences; confirming a subscription, whose tokens expire).

An HMAC (itsdangerous) over the subscriber and series ids with a secret from
$NEWSLETTER_SECRET, or else one generated once and kept in the database. A token cannot
be forged or guessed from a subscriber id, and an altered one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from . import secrets

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
        if len(secret) < 16:
            raise ValueError("the signing secret must be at least 16 characters long")
        self._s = URLSafeSerializer(secret, salt=SALT)
        self._timed = URLSafeTimedSerializer(secret, salt=CONFIRM_SALT)

    @classmethod
    def from_env(cls, fallback: str) -> Signer:
        secrets.register(fallback)
        return cls(secrets.read("NEWSLETTER_SECRET") or fallback)

    def token(self, subscriber_id: int, campaign_id: int | None = None) -> str:
        return str(self._s.dumps([subscriber_id, campaign_id]))

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
