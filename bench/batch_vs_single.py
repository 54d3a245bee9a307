"""Bench: personalised messages through a provider's batch path against one request per
message, in the same run, to a local mock of the provider's API (its own process).

    python bench/batch_vs_single.py [--messages 100000] [--single 5000]
                                    [--providers sendgrid postmark]

The one-request-per-message baseline sends --single messages (it is slow by nature) and its
rate is reported per second like the batch path's.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsletter.config import Config  # noqa: E402
from newsletter.pipeline import render_issue  # noqa: E402
from newsletter.providers import Batch, Recipient  # noqa: E402
from newsletter.providers.postmark import PostmarkProvider  # noqa: E402
from newsletter.providers.resend import ResendProvider  # noqa: E402
from newsletter.providers.sendgrid import SendGridProvider  # noqa: E402
from tests.mock_providers import KEY  # noqa: E402

CLASSES = {"postmark": PostmarkProvider, "sendgrid": SendGridProvider, "resend": ResendProvider}


def run(provider_cls: type, url: str, n: int, per_message: bool) -> float:
    class OnePerRequest(provider_cls):  # type: ignore[misc, valid-type]
        max_batch: ClassVar[int] = 1

    cls = OnePerRequest if per_message else provider_cls
    provider = cls(api_key=KEY, base_url=url, sender_email="news@calm.example.org", backoff=0.01)
    _, parts = render_issue(REPO / "issues" / "calmer-mornings.md", Config(root=REPO))
    part = parts[0]
    step = provider_cls.max_batch * 10
    started = time.perf_counter()
    sent = 0
    for start in range(0, n, step):
        recipients = [
            Recipient(
                i,
                f"reader{i}@example.com",
                f"Reader{i}",
                "",
                f"https://news.example.org/u/token{i}",
            )
            for i in range(start, min(n, start + step))
        ]
        batch = Batch(
            key=f"bench-{start}",
            subject=part.part.subject,
            html=part.html,
            text=part.text,
            from_email="news@calm.example.org",
            from_name="Calm",
            recipients=recipients,
        )
        results = provider.send_batch(batch)
        sent += sum(1 for r in results if r.status in ("sent", "queued"))
    elapsed = time.perf_counter() - started
    provider.close()
    assert sent == n, f"only {sent} of {n} accepted"
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--single", type=int, default=5_000)
    ap.add_argument(
        "--providers", nargs="+", choices=sorted(CLASSES), default=["sendgrid", "postmark"]
    )
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; each mock API runs in its own process on 127.0.0.1"
    )
    for name in args.providers:
        mock = subprocess.Popen(
            [sys.executable, "-m", "tests.mock_providers", name],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert mock.stdout is not None
            url = mock.stdout.readline().strip()
            cls = CLASSES[name]
            batch = run(cls, url, args.messages, per_message=False)
            single = run(cls, url, args.single, per_message=True)
        finally:
            mock.terminate()
            mock.wait()
        b_rate, s_rate = args.messages / batch, args.single / single
        print(
            f"{name}: batch path ({cls.max_batch} per request) {args.messages} messages in "
            f"{batch:.1f} s = {b_rate:,.0f} msg/s; one request per message {args.single} in "
            f"{single:.1f} s = {s_rate:,.0f} msg/s; batch {b_rate / s_rate:.1f}x faster"
        )


if __name__ == "__main__":
    main()
