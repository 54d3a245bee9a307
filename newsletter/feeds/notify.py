"""The one email that tells the editor a post from a feed waits for approval (or, with
``--approve auto``, was held by its checks)."""

from __future__ import annotations

import html
from pathlib import Path

from ..check import check_issue
from ..config import Config
from ..pipeline import load_series
from ..providers import Batch, Recipient, get_provider
from ..store.states import ACCEPTED, Outcome
from .state import FeedInfo

#: outbox file names are delivery ids: these stay clear of real rows and of test sends
_ID_BASE = -1_000_000


def split_table(issue: Path) -> list[str]:
    series = load_series(issue)
    rows = [f"{'Part':>4}  {'Words':>5}  {'Min':>4}  Subject"]
    for p in series.parts:
        rows.append(f"{p.index:>4}  {p.words:>5}  {p.minutes:>4.1f}  {p.subject}")
    return rows


def approval_message(
    config: Config, feed: FeedInfo, issue: Path, shown: str, title: str, *, held: bool = False
) -> tuple[str, str]:
    """The subject and the text of the note (``shown``: the issue's path as typed)."""
    _, report = check_issue(issue, config)
    findings = sorted(report.findings, key=lambda f: f.level != "error")
    lines = [
        f"A new post on {feed.title or feed.url} is ready as an issue file:",
        f"  {shown}",
        "",
        f"\u201c{title}\u201d is split like this:",
        "",
        *split_table(issue),
        "",
        f"newsletter check finds {len(report.errors)} errors and {len(report.warnings)} "
        "warnings" + (":" if report.findings else "."),
        *(
            f"  {f.level}" + (f" part {f.part}" if f.part else "") + f": {f.message}"
            for f in findings[:6]
        ),
        "",
        "Look at every part (and edit the file" + (" to fix it):" if held else " if you like):"),
        f"  newsletter preview {shown}",
        "Then queue it:",
        f"  newsletter approve {shown}",
        "",
        f"It will go to the list '{feed.list_name}' ({feed.schedule}). Nothing is sent "
        "until you approve it.",
    ]
    subject = f"Held by its checks: {title}" if held else f"Waiting for your approval: {title}"
    return subject, "\n".join(lines) + "\n"


def notify_editor(
    config: Config,
    feed: FeedInfo,
    issue: Path,
    shown: str,
    title: str,
    entry_id: int,
    *,
    held: bool = False,
) -> str:
    """Send the note through the configured provider; the provider's answer, in words."""
    to = config.feeds.notify or config.sender.email
    subject, text = approval_message(config, feed, issue, shown, title, held=held)
    body = (
        '<!doctype html><html><body><pre style="font-family:Menlo,Consolas,monospace;'
        f'font-size:14px;white-space:pre-wrap">{html.escape(text)}</pre></body></html>'
    )
    batch = Batch(
        key=f"feed-approval-{entry_id}",
        subject=" ".join(subject.split()),
        html=body,
        text=text,
        from_email=config.sender.email,
        from_name=config.sender.name,
        reply_to=config.sender.reply_to,
        tag="feed-approval",
        metadata={"kind": "feed-approval"},
        recipients=[Recipient(_ID_BASE - entry_id, to)],
    )
    provider = get_provider(config)
    try:
        results = provider.send_batch(batch)
    finally:
        provider.close()
    status = results[0].status if results else Outcome.UNKNOWN
    if status in ACCEPTED:
        return f"{to} notified"
    if status == Outcome.UNKNOWN:
        return f"the note to {to} may or may not have gone out"
    return f"the note to {to} was not sent: {results[0].error or status}"
