"""Settling unknown batches from evidence, never from a guess.

For each batch whose answer was lost, the provider's evidence for THAT batch (its global
id, carried in every message's metadata) decides, row by row:

- ``log`` (Postmark, Mailgun): the provider's own message log, searched once it has had
  time to show the request (``min_age``): the rows it shows are sent; the others were not
  accepted and are scheduled again;
- ``webhooks`` (SendGrid, SES): the events the provider posted to ``newsletter serve``
  (``processed``/``delivered``, ``Send``/``Delivery``: sent; ``dropped``, ``Reject``:
  refused); rows with no event yet stay unknown;
- ``resend`` (Resend, the outbox): the batch is sent again under the same idempotency key
  while the provider keeps it (24 hours), which never delivers twice.

``newsletter run`` does this by itself on a schedule (:class:`Settler`); only a batch with
no evidence within ``[sending] settle_within`` becomes the editor's decision, told once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config
from .errors import StoreError
from .providers import Provider, ProviderError, get_provider
from .providers.base import Asked
from .store import Store, ledger, utcnow
from .store.report import UnknownBatch
from .store.states import EventKind

#: how long Resend keeps an idempotency key: past it, sending again could deliver twice
RESEND_KEY_LIFETIME = timedelta(hours=24)


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
    #: rows given back to their batch, to go out again under the same idempotency key
    same_key: int = 0


def decide_hint(b: UnknownBatch) -> str:
    """The one command that settles a batch by hand."""
    return (
        f"check {b.provider}'s log, then 'newsletter resume {b.slug} --batch {b.id} "
        f"--were-sent' (it shows them) or 'newsletter resume {b.slug} --batch {b.id} "
        "--resend' (it does not)"
    )


def settle_batch(
    store: Store, provider: Provider, b: UnknownBatch, min_age: timedelta, now: datetime
) -> Reconciled:
    """Settle one unknown batch from the evidence ``provider`` has for it."""
    age = now - b.created_at
    source = provider.evidence_source
    if source == "log":
        if age < min_age:
            return Reconciled(
                b.id,
                b.slug,
                b.provider,
                b.unknown,
                problem="too recent: the provider's log may not show it yet; "
                "run 'newsletter reconcile' again in a few minutes",
            )
        lost = ledger.lost_batch(store, b.id)
        try:
            found = provider.evidence(Asked(lost.key, lost.created_at, lost.rows))
        except ProviderError as exc:
            return Reconciled(b.id, b.slug, b.provider, b.unknown, problem=str(exc))
        # A settled log that does not show a row is evidence it was not accepted.
        sent, again = ledger.settle(store, b.id, sent=found.sent)
        return Reconciled(b.id, b.slug, b.provider, b.unknown, sent, again)
    if source == "webhooks":
        lost = ledger.lost_batch(store, b.id)
        seen, refused = ledger.evidence(store, lost.key)
        sent, again = 0, 0
        if seen & lost.rows.keys() or refused & lost.rows.keys():
            sent, again = ledger.settle(store, b.id, sent=seen, refused=refused)
        left = b.unknown - sent - again
        problem = (
            f"{b.provider} keeps no log searchable by batch: {left} messages wait for its "
            f"webhook events ('newsletter serve'); or {decide_hint(b)}"
            if left
            else ""
        )
        return Reconciled(b.id, b.slug, b.provider, b.unknown, sent, again, problem)
    if source == "resend" and age < RESEND_KEY_LIFETIME:
        n = ledger.resend_same_key(store, b.id)
        return Reconciled(b.id, b.slug, b.provider, b.unknown, same_key=n)
    return Reconciled(
        b.id,
        b.slug,
        b.provider,
        b.unknown,
        problem=f"{b.provider} keeps no log searchable by batch: {decide_hint(b)}",
    )


def reconcile(
    store: Store, config: Config, slug: str | None = None, min_age: timedelta = timedelta(0)
) -> list[Reconciled]:
    """Settle what the providers' evidence can tell. A batch younger than ``min_age`` is
    left for later where the evidence is a log: a provider's search may not show a message
    for a while after accepting it, and settling too early would send it again."""
    out: list[Reconciled] = []
    providers: dict[str, Provider] = {}
    now = utcnow()
    try:
        for b in ledger.unknown_batches(store, slug):
            try:
                provider = providers.get(b.provider) or get_provider(config, b.provider)
            except ProviderError as exc:
                out.append(Reconciled(b.id, b.slug, b.provider, b.unknown, problem=str(exc)))
                continue
            providers[b.provider] = provider
            try:
                out.append(settle_batch(store, provider, b, min_age, now))
            except StoreError:  # settled meanwhile by another process
                continue
    finally:
        for p in providers.values():
            p.close()
    return out


@dataclass
class Settler:
    """``newsletter run``'s own reconcile: each unknown batch is looked at once the
    provider's log has settled (``settle_after``), then again with backoff (doubling, at
    most hourly); one with no evidence within ``settle_within`` is the editor's decision,
    told once (an event, which the editor's notice mail and ``status`` carry)."""

    store: Store
    config: Config
    #: batch id -> (looks so far, next look)
    looks: dict[int, tuple[int, datetime]] = field(default_factory=dict)

    def run(self, now: datetime | None = None) -> list[Reconciled]:
        now = now or utcnow()
        after = self.config.sending.settle_after_interval
        within = self.config.sending.settle_within_interval
        done: list[Reconciled] = []
        providers: dict[str, Provider] = {}
        try:
            for b in ledger.unknown_batches(self.store):
                tries, nxt = self.looks.get(b.id, (0, b.created_at + after))
                if now < nxt:
                    continue
                provider = providers.get(b.provider)
                if provider is None:
                    try:
                        provider = providers[b.provider] = get_provider(self.config, b.provider)
                    except ProviderError:
                        continue
                try:
                    r = settle_batch(self.store, provider, b, after, now)
                except StoreError:  # settled meanwhile by another process
                    continue
                done.append(r)
                if not r.problem and r.sent + r.resend + r.same_key >= b.unknown:
                    self.looks.pop(b.id, None)
                    continue
                wait = min(after * 2 ** min(tries, 16), timedelta(hours=1))
                self.looks[b.id] = (tries + 1, now + max(wait, timedelta(seconds=1)))
                if now - b.created_at >= within:
                    self.ask_editor(b)
        finally:
            for p in providers.values():
                p.close()
        return done

    def ask_editor(self, b: UnknownBatch) -> None:
        """Once per batch: the editor decides (no evidence came within settle_within)."""
        key = f"decision:{b.id}"
        if self.store.setting(key) is not None:
            return
        self.store.setting(key, lambda: utcnow().isoformat())
        self.store.event(
            EventKind.DECISION,
            f"batch {b.id} ({b.slug} part {b.part}, {b.unknown} messages via {b.provider}): "
            f"no evidence within {self.config.sending.settle_within} whether it went out; "
            f"{decide_hint(b)}",
        )
