"""Settling unknown batches from the provider's own message log.

For each batch whose answer was lost, ask the provider which of its messages it accepted
(Postmark's outbound message search by Metadata, Mailgun's events API by a custom
variable: both carry our batch id). Those rows are marked sent; the rest of the batch is
scheduled again. Providers without such a log (SendGrid, SES) are named, with the command
that settles a batch by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .config import Config
from .providers import Provider, ProviderError, get_provider
from .store import Store, ledger, utcnow


@dataclass(frozen=True)
class Reconciled:
    batch_id: int
    slug: str
    provider: str
    size: int
    sent: int = 0
    resend: int = 0
    #: why it could not be settled ("" when it was)
    problem: str = ""


def reconcile(
    store: Store, config: Config, slug: str | None = None, min_age: timedelta = timedelta(0)
) -> list[Reconciled]:
    """Settle what the providers' logs can tell. A batch younger than ``min_age`` is left
    for later: a provider's search may not show a message for a while after accepting it,
    and settling too early would send it again."""
    out: list[Reconciled] = []
    providers: dict[str, Provider] = {}
    now = utcnow()
    for b in ledger.unknown_batches(store, slug):
        if b.created_at > now - min_age:
            out.append(
                Reconciled(
                    b.id,
                    b.slug,
                    b.provider,
                    b.unknown,
                    problem="too recent: the provider's log may not show it yet; "
                    "run 'newsletter reconcile' again in a few minutes",
                )
            )
            continue
        try:
            provider = providers.get(b.provider) or get_provider(config, b.provider)
        except ProviderError as exc:
            out.append(Reconciled(b.id, b.slug, b.provider, b.unknown, problem=str(exc)))
            continue
        providers[b.provider] = provider
        if not provider.searchable_log:
            out.append(
                Reconciled(
                    b.id,
                    b.slug,
                    b.provider,
                    b.unknown,
                    problem=f"{b.provider} keeps no log searchable by batch: check it, then "
                    f"'newsletter resume {b.slug} --batch {b.id} --were-sent' or '--resend'",
                )
            )
            continue
        try:
            found = provider.delivered_in_batch(b.id, b.created_at)
        except ProviderError as exc:
            out.append(Reconciled(b.id, b.slug, b.provider, b.unknown, problem=str(exc)))
            continue
        sent, again = ledger.settle(store, b.id, sent=found)
        out.append(Reconciled(b.id, b.slug, b.provider, b.unknown, sent, again))
    for p in providers.values():
        p.close()
    return out
