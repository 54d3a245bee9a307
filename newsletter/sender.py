"""The send loop. It reads top to bottom, as listmonk's does:

say this sender is alive, take over what a dead sender left, enroll new sequence
subscribers, mark what missed the grace window, then repeatedly: claim one request's worth
of due rows as a batch, build the request, push it to the provider, record every answer.
Too many errors in a batch pause the series.

Exactly once: a batch is one request. When its answer is lost, a provider with an
idempotency key gets the same batch again under the same key; for the others the batch
becomes 'unknown' as a whole and waits for ``newsletter reconcile`` or the editor. A dead
sender's batch is taken over (one atomic UPDATE) before anyone touches it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config
from .pacing import Pacer
from .providers import Batch, Provider, ProviderError, Recipient, Result
from .providers.base import ACCEPTED, PERMANENT, Outcome
from .signing import Signer
from .store import Store, ledger, utcnow
from .store.claims import Claim, RowOutcome
from .store.states import BatchState, DeliveryState
from .timing import parse_interval

log = logging.getLogger("newsletter.sender")
RETRY_DELAY = timedelta(minutes=5)
#: how often a long send loop refreshes its heartbeat
BEAT_EVERY = 10.0


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retrying: int = 0
    unknown: int = 0
    missed: int = 0
    enrolled: int = 0
    recovered: int = 0
    batches: int = 0
    paused: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("failed", "retrying", "skipped", "unknown", "missed", "recovered"):
            n = getattr(self, name)
            if n:
                parts.append(f"{n} {name}")
        return ", ".join(parts)


class Sender:
    def __init__(
        self,
        store: Store,
        provider: Provider,
        config: Config,
        stop: threading.Event | None = None,
        command: str = "send-due",
    ) -> None:
        self.store = store
        self.provider = provider
        self.config = config
        self.stop = stop or threading.Event()
        self.command = command
        #: who this sender is in the ledger (host:pid:random)
        self.token = ledger.claim_token()
        self.signer = Signer.from_env(store.signing_secret())
        self.grace = parse_interval(config.sending.grace, "[sending] grace")
        wanted = config.sending.batch_size or provider.max_batch
        #: requests of at most batch_size, paced so that no second exceeds the rate limit
        self.pacer = Pacer(config.sending.rate_limit, max(1, min(wanted, provider.max_batch)))
        self.batch_size = self.pacer.size
        self._last_beat = 0.0
        self.now: datetime | None = None  # the clock of the current send_due call
        #: called after each batch (e.g. a progress display)
        self.progress: Callable[[SendReport], None] | None = None

    def heartbeat(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_beat >= BEAT_EVERY:
            ledger.beat(self.store, self.token, self.command)
            self._last_beat = time.monotonic()

    def send_due(self, now: datetime | None = None) -> SendReport:
        """Send everything due at ``now`` (default: the current time)."""
        now = now or utcnow()
        self.now = now
        report = SendReport()
        self.heartbeat(force=True)
        report.recovered = self.recover(now, report)
        report.enrolled = ledger.enroll_new_members(self.store, now, self.grace)
        report.missed = ledger.mark_missed(self.store, now - self.grace)
        empty_claims = 0
        while not self.stop.is_set():
            key = ledger.next_batch_key(self.store, now)
            if key is None:
                break
            campaign_id, part = key
            claim = ledger.claim(
                self.store, campaign_id, part, now, self.batch_size, self.token, self.provider.name
            )
            if not claim.taken:  # locked by another sender: never spin on rows it holds
                empty_claims += 1
                if empty_claims > 3:
                    break
                continue
            empty_claims = 0
            if claim.rows:  # else all skipped: unsubscribed or suppressed since queueing
                self.push(claim, report)
            self.heartbeat()
            if self.progress:
                self.progress(report)
        # A clean stop between requests: nothing of ours is in flight.
        ledger.release(self.store, self.token)
        return report

    def batch(self, claim: Claim) -> Batch:
        snap = ledger.part_snapshot(self.store, claim.campaign_id, claim.part)
        c = ledger.campaign(self.store, claim.campaign_id)
        base = self.config.web.base_url
        return Batch(
            key=claim.key,
            subject=snap.subject,
            html=snap.html,
            text=snap.text,
            from_email=self.config.sender.email,
            from_name=self.config.sender.name,
            reply_to=self.config.sender.reply_to,
            tag=f"{c.slug}-part-{claim.part}",
            first_name_fallback=self.config.brand.first_name_fallback,
            metadata={"campaign": c.slug, "part": str(claim.part), "batch": str(claim.batch_id)},
            recipients=[
                Recipient(
                    r.id,
                    r.email,
                    r.first_name,
                    r.last_name,
                    self.signer.unsubscribe_url(base, r.subscriber_id, claim.campaign_id),
                )
                for r in claim.rows
            ],
        )

    def push(self, claim: Claim, report: SendReport) -> None:
        """Send one claimed batch (one request) and record its answer."""
        batch = self.batch(claim)
        self.pacer.wait(self.stop)
        try:
            results = self.provider.send_batch(batch)
        except ProviderError as exc:  # refused before anything was sent
            log.warning("batch of %d for part %d failed: %s", len(claim.rows), claim.part, exc)
            results = [Result(r.id, Outcome.FAILED, error=str(exc)) for r in claim.rows]
        self.record(claim, results, report)
        report.batches += 1
        failed = sum(
            1 for r in results if r.status not in ACCEPTED and r.status != Outcome.DEFERRED
        )
        if (
            results
            and failed / len(results) > self.config.sending.max_error_rate
            and failed >= min(len(results), 5)
        ):
            c = ledger.campaign(self.store, claim.campaign_id)
            ledger.set_status(self.store, c.slug, "paused")
            self.store.event(
                "paused",
                f"{c.slug}: paused after {failed} of {len(results)} "
                f"messages failed ({results[0].error or 'see status'}); fix the "
                f"cause, then 'newsletter resume {c.slug}'",
                claim.campaign_id,
            )
            report.paused.append(c.slug)

    def record(self, claim: Claim, results: list[Result], report: SendReport) -> None:
        assert claim.batch_id is not None
        now = self.now or utcnow()
        by_id = {r.delivery_id: r for r in results}
        rows = claim.rows
        # An answer that leaves a recipient out cannot be read: the whole request is unknown.
        if any(r.id not in by_id for r in rows):
            error = "no answer for some recipients in the provider's response"
            results = [Result(r.id, Outcome.UNKNOWN, error=error) for r in rows]
            by_id = {r.delivery_id: r for r in results}
        lost = [by_id[r.id] for r in rows if by_id[r.id].status == Outcome.UNKNOWN]
        attempts = ledger.attempts(self.store, [r.id for r in rows])
        if (
            lost
            and self.provider.idempotent
            and max(attempts.values(), default=0) < ledger.MAX_ATTEMPTS
        ):
            # Sent again under the same key by the next recovery: no double delivery.
            ledger.keep_for_resend(
                self.store, claim.batch_id, [r.delivery_id for r in lost], lost[0].error or ""
            )
            report.retrying += len(lost)
            rows = [r for r in rows if by_id[r.id].status != Outcome.UNKNOWN]
            lost = []
        outcomes: list[RowOutcome] = []
        for row in rows:
            res = by_id[row.id]
            if res.status in ACCEPTED:
                outcomes.append(
                    RowOutcome(row.id, DeliveryState.SENT, message_id=res.message_id, sent_at=now)
                )
                report.sent += 1
            elif res.status in PERMANENT:
                outcomes.append(RowOutcome(row.id, DeliveryState.FAILED, error=res.error))
                report.failed += 1
                # Invalid, or inactive at the provider (bounced or complained before): the
                # next parts would be refused too, so the address gets nothing more.
                self.store.suppress(
                    row.email, "rejected", source=self.provider.name, detail=res.error or ""
                )
            elif res.status == Outcome.UNKNOWN:
                outcomes.append(RowOutcome(row.id, DeliveryState.UNKNOWN, error=res.error))
                report.unknown += 1
            elif res.status == Outcome.DEFERRED:
                retry_at = now + timedelta(seconds=res.retry_after or 0)
                outcomes.append(
                    RowOutcome(
                        row.id,
                        DeliveryState.SCHEDULED,
                        error=res.error,
                        retry_at=retry_at,
                        refund=True,
                    )
                )
                report.retrying += 1
            elif attempts.get(row.id, 1) < ledger.MAX_ATTEMPTS:
                retry_at = now + RETRY_DELAY * attempts.get(row.id, 1)
                outcomes.append(
                    RowOutcome(row.id, DeliveryState.SCHEDULED, error=res.error, retry_at=retry_at)
                )
                report.retrying += 1
            else:
                outcomes.append(RowOutcome(row.id, DeliveryState.FAILED, error=res.error))
                report.failed += 1
        if len(rows) < len(claim.rows):
            state = BatchState.SENDING  # kept for resending under the same key
        elif lost:
            state = BatchState.UNKNOWN
        else:
            state = BatchState.DONE
        ids = {r.message_id for r in results if r.message_id}
        ledger.record(
            self.store,
            claim.batch_id,
            outcomes,
            batch_state=state,
            error=lost[0].error if lost else None,
            message_ids=" ".join(sorted(ids)) if 0 < len(ids) <= 10 else None,
        )
        if lost:
            self.store.event(
                "unknown",
                f"batch {claim.batch_id}: {len(lost)} messages may or may not have been sent "
                f"({lost[0].error}); 'newsletter reconcile' settles it from the provider's log",
                claim.campaign_id,
            )

    def recover(self, now: datetime, report: SendReport | None = None) -> int:
        """Batches a dead sender left: taken over first (one atomic UPDATE, so that no two
        senders act on one), then sent again under the same key where the provider makes
        that safe, otherwise marked unknown."""
        cutoff = now - timedelta(seconds=self.config.sending.lease_seconds)
        n = 0
        for batch_id, owner in ledger.orphaned_batches(self.store, cutoff):
            if not ledger.take_over(self.store, batch_id, owner, self.token):
                continue  # another sender took it
            if self.provider.idempotent:
                claim = ledger.batch_claim(self.store, batch_id)
                if claim.rows:
                    self.push(claim, report or SendReport())
                    n += len(claim.rows)
                else:
                    ledger.record(self.store, batch_id, [], batch_state=BatchState.DONE)
            else:
                n += ledger.mark_unknown(
                    self.store,
                    batch_id,
                    "the sender stopped after sending the request and before recording the "
                    "answer; 'newsletter reconcile' or check the provider's log",
                )
        return n
