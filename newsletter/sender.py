"""The send loop. It reads top to bottom, as listmonk's does:

say this sender is alive, take over what a dead sender left, enroll new sequence
subscribers, mark what missed the grace window, then repeatedly: claim one request's worth
of due rows as a batch, build the request, push it to the provider, record every answer.
Too many errors in a batch pause the series.

The steps overlap by one request: while a request is in flight (its answer awaited in a
worker thread that touches no database), the next batch is claimed and its request built;
it goes out once the answer is in and its pause check passed, and that answer is recorded
while the next request is in flight.

Exactly once: a batch is one request, 'claimed' until the commit that makes it 'sending'
just before its request starts. When its answer is lost, a provider with an idempotency key
gets the same batch again under the same key; for the others the batch becomes 'unknown' as
a whole and waits for ``newsletter reconcile`` or the editor. A dead sender's batch is
taken over (one atomic UPDATE) before anyone touches it; one it had only claimed goes back
to the queue.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from .config import Config
from .i18n import html_language
from .pacing import Pacer
from .providers import Batch, Prepared, Provider, ProviderError, Recipient, Result
from .providers.base import ACCEPTED, PERMANENT, Outcome
from .render import first_name_fallback
from .signing import Signer
from .store import Store, ledger, utcnow
from .store.busy import is_busy, patient
from .store.claims import Claim, RowOutcome
from .store.states import BatchState, CampaignStatus, DeliveryState, EventKind, SuppressionReason
from .timing import parse_interval

log = logging.getLogger("newsletter.sender")
T = TypeVar("T")
RETRY_DELAY = timedelta(minutes=5)
#: the backoff after a passing fault (connection refused, 429, 503): 5 s, doubling, 15 min
#: at most, with jitter
TRANSIENT_BASE, TRANSIENT_MAX = 5.0, 900.0
#: outcomes that count towards [sending] max_error_rate (refused for address or content)
NEEDS_A_LOOK = (*PERMANENT, Outcome.FAILED)
#: how often a long send loop refreshes its heartbeat
BEAT_EVERY = 10.0


@dataclass
class Outgoing:
    """One claimed batch on its way out: the claim, the request built from it (or why the
    provider refused to build it) and, once launched, the answer to come."""

    claim: Claim
    request: Prepared
    refused: ProviderError | None = None
    answer: Future[list[Result]] | None = None


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
        self.signer = Signer.from_env(store.signing_secret)
        self.grace = parse_interval(config.sending.grace, "[sending] grace")
        wanted = config.sending.batch_size or provider.max_batch
        #: requests of at most batch_size, paced so that no second exceeds the rate limit
        self.pacer = Pacer(config.sending.rate_limit, max(1, min(wanted, provider.max_batch)))
        self.batch_size = self.pacer.size
        self._last_beat = 0.0
        #: consecutive requests refused by a passing fault (the backoff grows with it)
        self.transient_streak = 0
        self.now: datetime | None = None  # the clock of the current send_due call
        #: called after each batch (e.g. a progress display)
        self.progress: Callable[[SendReport], None] | None = None

    def heartbeat(self, force: bool = False) -> None:
        """Say this sender is alive. A database busy with another process's write skips
        this beat (tried again at the next): the lease is minutes, a beat is seconds."""
        if force or time.monotonic() - self._last_beat >= BEAT_EVERY:
            try:
                ledger.beat(self.store, self.token, self.command)
            except Exception as exc:
                if not is_busy(exc):
                    raise
                log.warning("heartbeat skipped: the database is busy")
                return
            self._last_beat = time.monotonic()

    def patient(self, fn: Callable[..., T], *args: Any, before_sending: bool = False) -> T:
        """``fn(store, *args)`` (one transaction), tried again while the database is busy
        with another process's write (an import, the web form). Before a request goes out,
        a stop ends the waiting; an answer is recorded however long it takes."""
        return patient(
            lambda: fn(self.store, *args),
            what=getattr(fn, "__name__", "database"),
            stop=self.stop if before_sending else None,
        )

    def send_due(self, now: datetime | None = None) -> SendReport:
        """Send everything due at ``now`` (default: the current time).

        One request is in flight at a time. While it is, the next batch is claimed and its
        request built; the answer is awaited in a worker thread that touches no database.
        Each answer is read before the next request goes out, so that too many errors
        pause the series before anything more is sent."""
        now = now or utcnow()
        self.now = now
        report = SendReport()
        self.heartbeat(force=True)
        report.recovered = self.recover(now, report)
        report.enrolled = self.patient(ledger.enroll, now, self.grace)
        report.missed = self.patient(ledger.mark_missed, now - self.grace)
        with ThreadPoolExecutor(1, thread_name_prefix="newsletter-send") as pool:
            launched: list[Outgoing] = []  # gone out, answer not recorded yet (oldest first)
            try:
                while True:
                    # Claimed again after each answer: it may have made rows due (deferred).
                    ready = None if self.stop.is_set() else self.next_outgoing(now)
                    if ready is None and not launched:
                        break
                    results = self.answer(launched[0]) if launched else None
                    if ready is not None:
                        if results is None or not self.failing(results):
                            self.launch(ready, pool)  # out while the last answer is recorded
                        if ready.answer is not None:
                            launched.append(ready)
                        else:  # stopping, or its series paused: not sent, back to the queue
                            self.patient(ledger.release_batch, ready.claim.batch_id or 0)
                    if results is not None:
                        self.land(launched.pop(0), results, report)
            except BaseException:
                self.land_after_error(launched, report)
                raise
            finally:
                # Anything claimed ahead and not sent goes back to the queue.
                with contextlib.suppress(Exception):  # (the database may be what failed)
                    ledger.release(self.store, self.token)
        return report

    def next_outgoing(self, now: datetime) -> Outgoing | None:
        """Claim the next request's worth of due rows and build its request (None when
        nothing more is due)."""
        empty_claims = 0
        while not self.stop.is_set():
            key = self.patient(ledger.next_batch_key, now, before_sending=True)
            if key is None:
                return None
            campaign_id, part = key
            claim = self.patient(
                ledger.claim,
                campaign_id,
                part,
                now,
                self.batch_size,
                self.token,
                self.provider.name,
                before_sending=True,
            )
            if not claim.taken:  # locked by another sender: never spin on rows it holds
                empty_claims += 1
                if empty_claims > 3:
                    return None
                continue
            empty_claims = 0
            if claim.rows:  # else all skipped: unsubscribed or suppressed since queueing
                return self.outgoing(claim)
        return None

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
            # (the greeting's words are the part's: "Hi there," / "Hallo zusammen,")
            first_name_fallback=first_name_fallback(self.config, html_language(snap.html)),
            # the batch's global id (never its number, which another database reuses)
            metadata={"campaign": c.slug, "part": str(claim.part), "batch": claim.key},
            recipients=[
                Recipient(
                    r.id,
                    r.email,
                    r.first_name,
                    r.last_name,
                    self.signer.unsubscribe_url(
                        base, r.subscriber_id, claim.campaign_id, key=r.token_key
                    ),
                )
                for r in claim.rows
            ],
        )

    def outgoing(self, claim: Claim) -> Outgoing:
        batch = self.batch(claim)
        try:
            return Outgoing(claim, self.provider.prepare(batch))
        except ProviderError as exc:  # refused before anything was sent
            return Outgoing(claim, Prepared(batch), refused=exc)

    def launch(self, out: Outgoing, pool: Executor) -> None:
        """Send a claimed batch's request in the worker thread, in its turn: its 'sending'
        state committed first. Not sent (``out.answer`` stays None) when stopping, when its
        series is no longer active (paused by the editor or another sender), or when its
        claim was given back (by a sender that took this one for dead)."""
        assert out.claim.batch_id is not None
        self.pacer.wait(self.stop)
        if self.stop.is_set():
            return
        self.heartbeat()
        # (a request the provider refused to build goes nowhere: it stays 'claimed')
        if out.refused is None and not self.patient(
            ledger.start_sending, out.claim.batch_id, self.token, before_sending=True
        ):
            return
        out.answer = pool.submit(self.deliver, out)

    def deliver(self, out: Outgoing) -> list[Result]:
        """The provider's answer, one Result per row (no database here: a worker thread)."""
        try:
            if out.refused is not None:
                raise out.refused
            return self.provider.deliver(out.request)
        except ProviderError as exc:  # refused before anything was sent
            log.warning(
                "batch of %d for part %d failed: %s", len(out.claim.rows), out.claim.part, exc
            )
            return [Result(r.id, Outcome.FAILED, error=str(exc)) for r in out.claim.rows]

    def answer(self, out: Outgoing) -> list[Result]:
        assert out.answer is not None
        return out.answer.result()

    def land_after_error(self, launched: list[Outgoing], report: SendReport) -> None:
        """The loop failed (a database error, an interrupt): the answers to requests that
        went out are still recorded where possible, so that none is left 'unknown' for
        nothing; what cannot be recorded is settled by the next sender's recovery."""
        for out in launched:
            try:
                self.land(out, self.answer(out), report)
            except BaseException:  # noqa: BLE001 - the original error is raised after
                log.warning("could not record batch %s's answer", out.claim.batch_id)

    def push(self, claim: Claim, report: SendReport) -> None:
        """Send one taken-over batch (one request) now and record its answer."""
        out = self.outgoing(claim)
        self.pacer.wait(self.stop)
        self.land(out, self.deliver(out), report)

    def failing(self, results: list[Result]) -> int:
        """How many of a batch's messages failed, when that needs a person and so pauses
        its series (else 0): the provider refused our credentials or account (``refused``),
        or too many were refused for their address or content. Faults that pass by
        themselves (``transient``) and lost answers (``unknown``: settled from evidence)
        never pause."""
        if any(r.status == Outcome.REFUSED for r in results):
            return sum(1 for r in results if r.status == Outcome.REFUSED)
        failed = sum(1 for r in results if r.status in NEEDS_A_LOOK)
        too_many = failed / len(results) > self.config.sending.max_error_rate if results else False
        return failed if too_many and failed >= min(len(results), 5) else 0

    def transient_delay(self, least: float | None) -> timedelta:
        """How long rows refused by a passing fault wait: exponential backoff with jitter
        over this sender's consecutive transient faults, never less than ``least`` (the
        provider's Retry-After)."""
        self.transient_streak += 1
        backoff = min(TRANSIENT_MAX, TRANSIENT_BASE * 2 ** min(self.transient_streak - 1, 16))
        jittered = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - not a secret
        return timedelta(seconds=max(least or 0.0, jittered))

    def land(self, out: Outgoing, results: list[Result], report: SendReport) -> None:
        """Record a batch's answer; pause its series after too many errors."""
        claim = out.claim
        self.record(claim, results, report)
        report.batches += 1
        failed = self.failing(results)
        if failed:
            c = ledger.campaign(self.store, claim.campaign_id)
            self.patient(ledger.set_status, c.slug, CampaignStatus.PAUSED)
            why = next((r.error for r in results if r.status not in ACCEPTED), None)
            self.patient(
                Store.event,
                EventKind.HALTED,  # told to the editor (newsletter.notice)
                f"{c.slug}: paused after {failed} of {len(results)} "
                f"messages failed ({why or 'see status'}); fix the "
                f"cause, then 'newsletter resume {c.slug}'",
                claim.campaign_id,
            )
            report.paused.append(c.slug)
        self.heartbeat()
        if self.progress:
            self.progress(report)

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
        if (
            lost
            and self.provider.idempotent
            and max((r.attempts for r in rows), default=0) < ledger.MAX_ATTEMPTS
        ):
            # Sent again under the same key by the next recovery: no double delivery.
            self.patient(
                ledger.keep_for_resend,
                claim.batch_id,
                [r.delivery_id for r in lost],
                lost[0].error or "",
            )
            report.retrying += len(lost)
            rows = [r for r in rows if by_id[r.id].status != Outcome.UNKNOWN]
            lost = []
        outcomes: list[RowOutcome] = []
        delay: timedelta | None = None  # one backoff for the batch's transient rows
        if any(by_id[r.id].status in ACCEPTED for r in rows):
            self.transient_streak = 0
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
                self.patient(
                    lambda store, email, why: store.suppress(
                        email, SuppressionReason.REJECTED, source=self.provider.name, detail=why
                    ),
                    row.email,
                    res.error or "",
                )
            elif res.status == Outcome.UNKNOWN:
                outcomes.append(RowOutcome(row.id, DeliveryState.UNKNOWN, error=res.error))
                report.unknown += 1
            elif res.status in (Outcome.TRANSIENT, Outcome.REFUSED):
                # Back to the queue, the attempt not counted: after backoff (transient), or
                # when the editor resumes the paused series (refused).
                if res.status == Outcome.TRANSIENT and delay is None:
                    delay = self.transient_delay(res.retry_after)
                outcomes.append(
                    RowOutcome(
                        row.id,
                        DeliveryState.SCHEDULED,
                        error=res.error,
                        retry_at=now + (delay or timedelta(0)),
                        refund=True,
                    )
                )
                report.retrying += 1
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
            elif row.attempts < ledger.MAX_ATTEMPTS:
                retry_at = now + RETRY_DELAY * row.attempts
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
        self.patient(
            lambda store: ledger.record(
                store,
                claim.batch_id or 0,
                outcomes,
                batch_state=state,
                error=lost[0].error if lost else None,
                message_ids=" ".join(sorted(ids)) if 0 < len(ids) <= 10 else None,
            )
        )
        if lost:
            self.patient(
                Store.event,
                EventKind.UNKNOWN,
                f"batch {claim.batch_id}: {len(lost)} messages may or may not have been sent "
                f"({lost[0].error}); 'newsletter run' settles it from the provider's evidence "
                "('newsletter reconcile' at once)",
                claim.campaign_id,
            )

    def recover(self, now: datetime, report: SendReport | None = None) -> int:
        """Batches a dead sender left: one it had only claimed goes back to the queue; one
        it had sent is taken over first (one atomic UPDATE, so that no two senders act on
        one), then sent again under the same key where the provider makes that safe,
        otherwise marked unknown."""
        cutoff = now - timedelta(seconds=self.config.sending.lease_seconds)
        n = 0
        for batch_id, owner in ledger.orphaned_batches(self.store, cutoff):
            given_back = ledger.give_back(self.store, batch_id, owner)
            if given_back:  # claimed, never sent: simply due again
                n += given_back
                continue
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
