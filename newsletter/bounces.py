"""What a message in the sender's mailbox says about our mail: a bounce (a delivery status
notification), a complaint (an ARF feedback report), an auto-reply, or nothing of ours.

Delivery status notifications are read as RFC 3464 says (``multipart/report;
report-type=delivery-status``: one block of fields per recipient, ``Action: failed`` with a
``5.x.x`` status is permanent); bounces in an MTA's own format (Exim's classic text,
older Exchange, qmail...) are recognised by flufl.bounce, the detectors GNU Mailman uses.
ARF (RFC 5965) reports are complaints. A report is ours only when it quotes one of our
Message-IDs (``<…d{delivery id}@…>``) and that delivery's recorded Message-ID is exactly
it, or (with ``[providers.smtp] verp``) when it was sent to a message's VERP envelope
sender whose tag is that message's: a stranger's bounce, or a forged one, suppresses no
one.

Permanent bounces and complaints go to the suppression list through the same table of
event types as the providers' webhooks (:mod:`newsletter.webhooks.events`, source
``imap``); the ledger then skips the address's later parts. Out-of-office replies and
delays change nothing.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from dataclasses import dataclass, field

from .store import Store
from .store.mailbox import Owner, message_owner
from .store.states import BounceKind as Kind
from .store.states import EventKind
from .webhooks import suppressions
from .webhooks.base import Observed

#: our Message-ID (newsletter.providers.outbox.build_message): the delivery id after ".d"
#: ours: a batch's global id (``nl-<installation>-<uuid>``) or make_msgid's digits, then
#: ``.d<delivery id>``
OUR_MESSAGE_ID = re.compile(rb"<((?:\d+\.\d+\.\d+|nl-[0-9a-f]+-[0-9a-f]+)\.d(\d+)@[A-Za-z0-9.-]+)>")
_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
#: headers by which auto-responders mark themselves (RFC 3834 and common practice)
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response)|out of (the )?office|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|auto:|autoreply)",
    re.IGNORECASE,
)


@dataclass
class Report:
    kind: Kind
    #: the addresses the report names (failed recipients, the complainant)
    recipients: list[str] = field(default_factory=list)
    #: our Message-IDs it quotes: (Message-ID, delivery id)
    ours: list[tuple[str, int]] = field(default_factory=list)
    #: VERP addresses it was sent to: (tag, delivery id)
    verp: list[tuple[str, int]] = field(default_factory=list)
    detail: str = ""


def classify(raw: bytes) -> Report:
    """What ``raw`` (one message from the mailbox) is."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    ours = quoted_message_ids(raw, msg)
    report = _report(msg) or _other_bounce(msg) or _auto_reply(msg) or Report(Kind.OTHER)
    report.ours = ours
    report.verp = verp_addresses(msg)
    return report


#: the headers where a bounce's own recipient (our VERP envelope sender) shows
_RECIPIENT_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")


def verp_addresses(msg: email.message.Message) -> list[tuple[str, int]]:
    """The VERP addresses (``news+nl-42-5f1c0a9e3b@…``) the bounce was addressed to."""
    from .providers.smtp import VERP

    found = []
    for name in _RECIPIENT_HEADERS:
        for value in msg.get_all(name) or []:
            for m in VERP.finditer(str(value)):
                found.append((m.group(2), int(m.group(1))))
    return list(dict.fromkeys(found))


def quoted_message_ids(raw: bytes, msg: email.message.Message) -> list[tuple[str, int]]:
    """Our Message-IDs anywhere in the message: its headers (In-Reply-To of an
    auto-reply), the returned message or headers, the text (decoded)."""
    texts = [raw]
    for part in msg.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload)
    found: dict[str, int] = {}
    for text in texts:
        for m in OUR_MESSAGE_ID.finditer(text):
            found.setdefault(m.group(0).decode(), int(m.group(2)))
    return list(found.items())


def _report(msg: email.message.Message) -> Report | None:
    """An RFC 3464 delivery status notification or an RFC 5965 feedback report."""
    if msg.get_content_type() != "multipart/report":
        return None
    kind = str(msg.get_param("report-type", "") or "").lower()
    if kind == "feedback-report":
        return _complaint(msg)
    if kind != "delivery-status":
        return None
    failed, delayed, details = [], [], []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        # the first block holds the per-message fields, then one per recipient
        for block in (b for b in blocks[1:] if isinstance(b, email.message.Message)):
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            who = _address(str(block.get("Original-Recipient") or block.get("Final-Recipient", "")))
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            m = _STATUS.match(status)
            if action == "failed" and (m is None or m.group(1) == "5"):
                failed.append(who)
                details.append(f"{status} {diagnostic}".strip())
            elif action in ("delayed", "failed"):
                delayed.append(who)
    if failed:
        return Report(Kind.BOUNCE, [a for a in failed if a], detail="; ".join(details)[:500])
    if delayed:
        return Report(Kind.DELAY, [a for a in delayed if a])
    return _other_bounce(msg)  # a report without per-recipient fields: ask flufl


def _complaint(msg: email.message.Message) -> Report:
    who, feedback = "", "abuse"
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            fields = _fields(part)
            feedback = fields.get("feedback-type", feedback)
            who = _address(fields.get("original-rcpt-to", ""))
    return Report(Kind.COMPLAINT, [who] if who else [], detail=f"ARF feedback: {feedback}")


def _fields(part: email.message.Message) -> dict[str, str]:
    """The fields of a message/feedback-report part (a list of one Message in compat32,
    or text)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message):
        return {k.lower(): str(v).strip() for k, v in payload[0].items()}
    text = payload if isinstance(payload, str) else ""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out


def _other_bounce(msg: email.message.Message) -> Report | None:
    """A bounce in an MTA's own format, by flufl.bounce's detectors."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # noqa: BLE001 - a detector choking on odd mail: not a bounce
        return None
    if permanent:
        names = sorted(_decode(a) for a in permanent)
        failed = str(msg.get("X-Failed-Recipients", "")).strip()
        return Report(Kind.BOUNCE, names, detail=(failed and f"failed: {failed}") or "bounced")
    if temporary:
        return Report(Kind.DELAY, sorted(_decode(a) for a in temporary))
    return None


def _auto_reply(msg: email.message.Message) -> Report | None:
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if (
        auto.startswith("auto-")
        or precedence == "auto_reply"
        or any(msg.get(h) for h in _AUTO_HEADERS)
        or _AUTO_SUBJECT.match(str(msg.get("Subject", "")))
    ):
        return Report(Kind.AUTO_REPLY)
    return None


def _address(value: str) -> str:
    """``rfc822; someone@example.com`` -> ``someone@example.com``."""
    return value.partition(";")[2].strip().strip("<>") if ";" in value else value.strip("<> ")


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Applied:
    """What one message changed: whose message it was about, and whether an address
    went to the suppression list."""

    report: Report
    owner: Owner | None
    suppressed: bool = False

    @property
    def ours(self) -> bool:
        return self.owner is not None


#: report kinds -> the key looked up in newsletter.webhooks.events (provider "imap")
_EVENT_KEYS = {Kind.BOUNCE: "bounce:permanent", Kind.COMPLAINT: "complaint"}


def apply(store: Store, report: Report) -> Applied:
    """Suppress the address of our message a permanent bounce or a complaint is about."""
    from .providers.smtp import verp_tag

    owner = None
    for message_id, delivery_id in report.ours:
        owner = message_owner(store, delivery_id, message_id)
        if owner is not None:
            break
    for tag, delivery_id in report.verp if owner is None else []:
        owner = message_owner(store, delivery_id, tag, proof=verp_tag)
        if owner is not None:
            break
    if owner is None or report.kind not in _EVENT_KEYS:
        return Applied(report, owner)
    detail = report.detail or report.kind.value
    events = suppressions("imap", [Observed(_EVENT_KEYS[report.kind], owner.email, detail)])
    added = False
    with store.begin() as conn:
        for e in events:
            added |= store.suppress(
                e.email, e.type.value, source="imap", detail=e.detail, conn=conn
            )
        if added:
            store.event(
                EventKind(report.kind.value),  # bounce | complaint
                f"{owner.email}: {report.kind.value} read from the mailbox ({detail[:200]}); "
                "suppressed, later parts skipped",
                owner.campaign_id,
                conn=conn,
            )
    return Applied(report, owner, added)
