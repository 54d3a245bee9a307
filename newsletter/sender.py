"""The send loop. It reads top to bottom, as listmonk's does:

take back what a crashed sender left, enroll new sequence subscribers, mark what missed
the grace window, then repeatedly: claim a batch of due rows, build the messages, push
them to the provider, record every answer. Too many errors in a batch pause the series.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Config
from .pacing import Pacer
from .providers import Batch, Provider, ProviderError, Recipient, Result
from .providers.base import ACCEPTED, PERMANENT
from .signing import Signer
from .store import Store, ledger, utcnow
from .timing import parse_interval

log = logging.getLogger("newsletter.sender")
RETRY_DELAY = timedelta(minutes=5)


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
        self, store: Store, provider: Provider, config: Config, stop: threading.Event | None = None
    ) -> None:
        self.store = store
        self.provider = provider
        self.config = config
        self.stop = stop or threading.Event()
        self.signer = Signer.from_env(store.signing_secret())
        self.grace = parse_interval(config.sending.grace, "[sending] grace")
        #: requests of at most batch_size, paced so that no second exceeds the rate limit
        self.pacer = Pacer(
            config.sending.rate_limit,
            max(1, min(config.sending.batch_size, provider.max_batch)),
        )
        self.batch_size = self.pacer.size
        self.now: datetime | None = None  # the clock of the current send_due call
        #: called after each batch (e.g. a progress display)
        self.progress: Callable[[SendReport], None] | None = None

    def send_due(self, now: datetime | None = None) -> SendReport:
        """Send everything due at ``now`` (default: the current time)."""
        now = now or utcnow()
        self.now = now
        report = SendReport()
        report.recovered = self.recover(now)
        report.enrolled = ledger.enroll_new_members(self.store, now, self.grace)
        report.missed = ledger.mark_missed(self.store, now - self.grace)
        token = ledger.claim_token()
        empty_claims = 0
        try:
            while not self.stop.is_set():
                key = ledger.next_batch_key(self.store, now)
                if key is None:
                    break
                campaign_id, part = key
                taken, rows = ledger.claim(
                    self.store, campaign_id, part, now, self.batch_size, token
                )
                if not taken:  # locked by another sender: never spin on rows it holds
                    empty_claims += 1
                    if empty_claims > 3:
                        break
                    continue
                empty_claims = 0
                if not rows:
                    continue  # all skipped: unsubscribed or suppressed since queueing
                self.push(campaign_id, part, rows, token, report)
                if self.progress:
                    self.progress(report)
        finally:
            ledger.release(self.store, token)
        return report

    def batch(self, campaign_id: int, part: int, rows: list[ledger.Claimed], key: str) -> Batch:
        snap = ledger.part_snapshot(self.store, campaign_id, part)
        c = ledger.campaign(self.store, campaign_id)
        base = self.config.web.base_url
        return Batch(
            key=key,
            subject=snap.subject,
            html=snap.html,
            text=snap.text,
            from_email=self.config.sender.email,
            from_name=self.config.sender.name,
            reply_to=self.config.sender.reply_to,
            tag=f"{c.slug}-part-{part}",
            first_name_fallback=self.config.brand.first_name_fallback,
            metadata={"campaign": c.slug, "part": str(part)},
            recipients=[
                Recipient(
                    r.id,
                    r.email,
                    r.first_name,
                    r.last_name,
                    self.signer.unsubscribe_url(base, r.subscriber_id, campaign_id),
                )
                for r in rows
            ],
        )

    def push(
        self,
        campaign_id: int,
        part: int,
        rows: list[ledger.Claimed],
        token: str,
        report: SendReport,
    ) -> None:
        batch = self.batch(campaign_id, part, rows, key=token + f":{rows[0].id}")
        self.pacer.wait(self.stop)
        try:
            results = self.provider.send_batch(batch)
        except ProviderError as exc:
            log.warning("batch of %d for part %d failed: %s", len(rows), part, exc)
            results = [Result(r.id, "failed", error=str(exc)) for r in rows]
        self.record(rows, results, report)
        report.batches += 1
        failed = sum(1 for r in results if r.status not in ACCEPTED)
        if (
            results
            and failed / len(results) > self.config.sending.max_error_rate
            and failed >= min(len(results), 5)
        ):
            c = ledger.campaign(self.store, campaign_id)
            ledger.set_status(self.store, c.slug, "paused")
            self.store.event(
                "paused",
                f"{c.slug}: paused after {failed} of {len(results)} "
                f"messages failed ({results[0].error or 'see status'}); fix the "
                f"cause, then 'newsletter resume {c.slug}'",
                campaign_id,
            )
            report.paused.append(c.slug)

    def record(self, rows: list[ledger.Claimed], results: list[Result], report: SendReport) -> None:
        now = self.now or utcnow()
        by_id = {r.delivery_id: r for r in results}
        outcomes = []
        attempts = ledger.attempts(self.store, [r.id for r in rows])
        for row in rows:
            res = by_id.get(row.id) or Result(
                row.id, "unknown", error="no answer for this recipient in the provider's response"
            )
            if res.status in ACCEPTED:
                outcomes.append(
                    dict(id=row.id, state="sent", message_id=res.message_id, sent_at=now)
                )
                report.sent += 1
            elif res.status in PERMANENT:
                outcomes.append(dict(id=row.id, state="failed", error=res.error))
                report.failed += 1
                # Invalid, or inactive at the provider (bounced or complained before): the
                # next parts would be refused too, so the address gets nothing more.
                if res.status in PERMANENT:
                    self.store.suppress(
                        row.email, "rejected", source=self.provider.name, detail=res.error or ""
                    )
            elif res.status == "unknown":
                outcomes.append(dict(id=row.id, state="unknown", error=res.error))
                report.unknown += 1
            elif attempts.get(row.id, 1) < ledger.MAX_ATTEMPTS:
                retry_at = now + RETRY_DELAY * attempts.get(row.id, 1)
                outcomes.append(
                    dict(id=row.id, state="scheduled", error=res.error, retry_at=retry_at)
                )
                report.retrying += 1
            else:
                outcomes.append(dict(id=row.id, state="failed", error=res.error))
                report.failed += 1
        ledger.record(self.store, outcomes)

    def recover(self, now: datetime) -> int:
        """Rows a dead sender left in 'sending': resend them as the same batch where the
        provider makes that safe, otherwise mark them unknown."""
        cutoff = now - timedelta(seconds=self.config.sending.lease_seconds)
        n = 0
        for token in ledger.stale_claims(self.store, cutoff):
            if not self.provider.idempotent:
                n += ledger.mark_unknown(self.store, token)
                continue
            found = ledger.claimed_rows(self.store, token)
            if found:
                campaign_id, part, rows = found
                report = SendReport()
                self.push(campaign_id, part, rows, token, report)
                n += len(rows)
        return n
