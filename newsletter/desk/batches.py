"""Unknown batches on a series' page: each with the evidence its provider's log gives, for
the editor to answer "they were sent" or "send them again" (as ``newsletter resume ISSUE
--batch ID --were-sent`` or ``--resend`` do)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..errors import NewsletterError
from ..providers import Provider, get_provider
from ..store import Store
from ..store.batches import unknown_batches
from ..store.report import UnknownBatch


@dataclass(frozen=True)
class Evidence:
    batch: UnknownBatch
    #: what the provider's log says, in a sentence
    found: str


def _evidence(provider: Provider, b: UnknownBatch) -> str:
    if not provider.searchable_log:
        return (
            f"{b.provider} keeps no log this desk can search by batch: look for messages "
            f"sent around {b.created_at:%d %b %Y %H:%M} UTC in {b.provider}'s own log."
        )
    shown = provider.delivered_in_batch(b.id, b.created_at)
    return (
        f"{b.provider}'s log shows {len(shown)} of the batch's {b.size} messages as accepted "
        f"({b.unknown} still unknown here)."
    )


def with_evidence(store: Store, config: Config, slug: str) -> list[Evidence]:
    """The series' unknown batches, oldest first, each with its provider's evidence (a
    provider that cannot be asked says why, in place of its evidence)."""
    out: list[Evidence] = []
    providers: dict[str, Provider] = {}
    try:
        for b in unknown_batches(store, slug):
            try:
                provider = providers.get(b.provider) or get_provider(config, b.provider)
                providers[b.provider] = provider
                found = _evidence(provider, b)
            except NewsletterError as exc:
                found = f"{b.provider}'s log could not be read: {exc}"
            out.append(Evidence(b, found))
    finally:
        for p in providers.values():
            p.close()
    return out
