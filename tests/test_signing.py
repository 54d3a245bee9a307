"""Unsubscribe tokens: built without itsdangerous' per-call work, byte for byte what it
gives, so links already sent stay valid."""

from __future__ import annotations

import random
import zlib

from itsdangerous import URLSafeSerializer

from newsletter.signing import SALT, Signer, _incompressible

SECRET = "s3cret-for-tests-only-0123456789"


def test_tokens_are_the_ones_itsdangerous_makes() -> None:
    signer = Signer(SECRET)
    reference = URLSafeSerializer(SECRET, salt=SALT)
    rng = random.Random(12)
    ids: list[tuple[int, int | None]] = [(0, None), (1, 1), (10**18, 10**6), (-5, 3)]
    ids += [(int("1" * k), c) for k in range(1, 19) for c in (None, 1, 1111)]
    ids += [(int("12" * k), int("12" * k)) for k in range(1, 9)]
    ids += [
        (rng.randrange(10 ** rng.randrange(1, 12)), rng.choice([None, rng.randrange(9999)]))
        for _ in range(20000)
    ]
    for sid, cid in ids:
        token = signer.token(sid, cid)
        assert token == reference.dumps([sid, cid]), (sid, cid)
        assert signer.verify(token) is not None
        assert (signer.verify(token).subscriber_id, signer.verify(token).campaign_id) == (sid, cid)


def test_the_shortcut_is_only_taken_where_zlib_would_not_compress() -> None:
    assert _incompressible(b"[123456,7]")
    rng = random.Random(3)
    for _ in range(50000):
        a = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 12)))
        b = rng.choice(["null", "".join(rng.choice("01") for _ in range(rng.randrange(1, 8)))])
        data = f"[{a},{b}]".encode()
        if _incompressible(data):
            assert len(zlib.compress(data)) >= len(data) - 1, data


def test_altered_tokens_are_refused() -> None:
    signer = Signer(SECRET)
    token = signer.token(42, 7)
    assert signer.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert Signer("another-secret-0123456789").verify(token) is None
