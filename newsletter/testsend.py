"""Proofs: send an issue's parts to one address through the configured provider."""

from __future__ import annotations

import uuid
from pathlib import Path

from .config import Config
from .errors import InputError
from .pipeline import render_issue
from .providers import Batch, Recipient, Result, get_provider
from .render import first_name_fallback
from .store.subscribers import normalise_email


def test_send(config: Config, issue: Path, to: str, part: int | None = None) -> list[Result]:
    try:
        address = normalise_email(to)
    except ValueError as exc:
        raise InputError("--to", f"{to!r} is not a valid address: {exc}") from None
    series, parts = render_issue(issue, config)
    if part is not None and not 1 <= part <= len(parts):
        raise InputError("--part", f"the series has parts 1 to {len(parts)}, not {part}")
    provider = get_provider(config)
    results = []
    try:
        for r in parts if part is None else [parts[part - 1]]:
            batch = Batch.from_config(
                config,
                key=f"test-{series.slug}-{r.index}-{uuid.uuid4().hex}",  # one per proof
                subject=f"[TEST] {r.part.subject}",
                html=r.html,
                text=r.text,
                tag=f"{series.slug}-test",
                first_name_fallback=first_name_fallback(config, series.language),
                metadata={"kind": "proof"},
                recipients=[
                    Recipient(
                        -r.index, address, "", "", f"{config.web.base_url.rstrip('/')}/u/test"
                    )
                ],
            )
            results.extend(provider.send_batch(batch))
    finally:
        provider.close()
    return results
