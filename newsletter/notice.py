"""Telling the editor what needs them, once per event, at most one mail an hour.

What needs a person is written as an event (``halted``: a series paused and why;
``decision``: a batch with no evidence within ``settle_within``, with the one command that
settles it; ``rate``: a part's bounce or complaint rate tripped). ``newsletter run`` sends
every such event not told yet in one mail through the configured provider, to
``[notify] email`` (default: ``[sender] email``), no more than once an hour; ``newsletter
status`` shows them too.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from .config import Config
from .providers import Batch, Recipient, get_provider
from .store import Store, utcnow
from .store.states import EventKind, Outcome

#: the events that need a person
KINDS = (EventKind.HALTED, EventKind.DECISION, EventKind.RATE)
#: no more than one mail in this time
EVERY = timedelta(hours=1)
#: outbox file names are delivery ids: notices stay clear of rows, proofs, feed notes
_ID_BASE = -2_000_000
#: the mail's fixed words, in one place (for the catalogue)
WORDS = {
    "subject": "newsletter: {n} thing(s) need you",
    "intro": "newsletter run needs you for this:",
    EventKind.HALTED: "A series is paused",
    EventKind.DECISION: "A batch awaits your decision",
    EventKind.RATE: "A bounce or complaint rate tripped",
    "outro": "'newsletter status' shows the whole picture.",
}
WATERMARK, LAST_SENT, LAST_TRIED = "notice_event_id", "notice_sent_at", "notice_tried_at"
#: a mail the provider did not take is tried again after this
RETRY = timedelta(minutes=5)


def tell_editor(store: Store, config: Config, now: datetime | None = None) -> str:
    """Send the events not told yet in one mail (unless one went out within the hour).
    Returns what happened, in words ("" when there was nothing to tell)."""
    now = now or utcnow()
    told = int(store.setting(WATERMARK) or 0)
    events = store.events_since(told, KINDS)
    if not events:
        return ""
    last = store.setting(LAST_SENT)
    if last and now - datetime.fromisoformat(last) < EVERY:
        return ""
    tried = store.setting(LAST_TRIED)
    if tried and timedelta(0) <= now - datetime.fromisoformat(tried) < RETRY:
        return ""  # the provider refused the last try (say, the key that paused sending)
    store.put_setting(LAST_TRIED, now.isoformat())
    to = config.notify.email or config.sender.email
    lines = [WORDS["intro"], ""]
    for e in events:
        lines += [f"{WORDS[e.kind]} ({e.at:%Y-%m-%d %H:%M} UTC):", f"  {e.message}", ""]
    lines.append(WORDS["outro"])
    text = "\n".join(lines) + "\n"
    batch = Batch(
        key=f"notice-{events[-1].id}",
        subject=WORDS["subject"].format(n=len(events)),
        html=(
            '<!doctype html><html><body><pre style="font-family:Menlo,Consolas,monospace;'
            f'font-size:14px;white-space:pre-wrap">{html.escape(text)}</pre></body></html>'
        ),
        text=text,
        from_email=config.sender.email,
        from_name=config.sender.name,
        reply_to=config.sender.reply_to,
        tag="notice",
        metadata={"kind": "notice"},
        recipients=[Recipient(_ID_BASE - events[-1].id, to)],
    )
    provider = get_provider(config)
    try:
        results = provider.send_batch(batch)
    finally:
        provider.close()
    status = results[0].status if results else Outcome.UNKNOWN
    if status in (Outcome.TRANSIENT, Outcome.FAILED, Outcome.REFUSED):
        return f"the note to {to} was not sent: {results[0].error or status}; tried again later"
    # sent, or perhaps sent (unknown): never sent twice
    store.put_setting(WATERMARK, str(events[-1].id))
    store.put_setting(LAST_SENT, now.isoformat())
    return f"{to} told of {len(events)} event(s)"
