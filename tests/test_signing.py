"""Unsubscribe tokens: built without itsdangerous' per-call work, read by itsdangerous;
each names the subscriber's key, and links made before keys are still read."""

from __future__ import annotations

import random
import string

import pytest
from itsdangerous import URLSafeSerializer

from newsletter.signing import SALT, Signer

SECRET = "s3cret-for-tests-only-0123456789"
KEY_CHARS = string.ascii_letters + string.digits + "-_"


def test_tokens_are_read_by_itsdangerous_and_name_the_key() -> None:
    signer = Signer(SECRET)
    reference = URLSafeSerializer(SECRET, salt=SALT)
    rng = random.Random(12)
    ids: list[tuple[int, int | None]] = [(0, None), (1, 1), (10**18, 10**6), (-5, 3)]
    ids += [(int("1" * k), c) for k in range(1, 19) for c in (None, 1, 1111)]
    ids += [
        (rng.randrange(10 ** rng.randrange(1, 12)), rng.choice([None, rng.randrange(9999)]))
        for _ in range(20000)
    ]
    for sid, cid in ids:
        key = "".join(rng.choice(KEY_CHARS) for _ in range(rng.choice([12, 18, 1, 64])))
        token = signer.token(sid, cid, key=key)
        assert reference.loads(token) == [sid, cid, key], (sid, cid, key)
        found = signer.verify(token)
        assert found is not None
        assert (found.subscriber_id, found.campaign_id, found.key) == (sid, cid, key)


def test_links_made_before_keys_are_read_without_a_key() -> None:
    signer = Signer(SECRET)
    for sid, cid in [(1, None), (42, 7), (10**12, 10**6)]:
        old = URLSafeSerializer(SECRET, salt=SALT).dumps([sid, cid])
        assert signer.legacy_token(sid, cid) == old
        found = signer.verify(old)
        assert found is not None and (found.subscriber_id, found.campaign_id) == (sid, cid)
        assert found.key is None


def test_a_key_that_json_would_escape_is_refused() -> None:
    signer = Signer(SECRET)
    for key in ['a"b', "a\\b", "", "é", "x" * 65]:
        with pytest.raises(ValueError):
            signer.token(1, 2, key=key)


def test_altered_tokens_are_refused() -> None:
    signer = Signer(SECRET)
    token = signer.token(42, 7, key="k3y")
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert Signer("another-secret-0123456789").verify(token) is None
    reference = URLSafeSerializer(SECRET, salt=SALT)
    for shape in ([42], [42, 7, "k", 1], ["42", 7, "k"], [42, "7", "k"], [42, 7, 5], {"a": 1}):
        assert signer.verify(reference.dumps(shape)) is None, shape
