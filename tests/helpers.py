"""Shared helpers for tests that need a store, subscribers and an outbox."""

from __future__ import annotations

import email
import email.parser
import email.policy
import email.utils
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import click
import click.testing

from newsletter.config import Config
from newsletter.store import Store


def make_config(root: Path, db_url: str | None = None, **sending: object) -> Config:
    cfg = Config(root=root)
    if db_url:
        cfg.database_url = db_url
    for key, value in sending.items():
        setattr(cfg.sending, key, value)
    return cfg


def open_store(cfg: Config) -> Store:
    return Store(cfg.db_url)


def outbox_messages(folder: Path) -> list[email.message.EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as f:
            out.append(email.message_from_binary_file(f, policy=email.policy.default))
    return out  # type: ignore[return-value]


def outbox_pairs(folder: Path) -> Counter[tuple[str, str]]:
    """(recipient address, part tag) -> how many files (headers only: fast)."""
    pairs: Counter[tuple[str, str]] = Counter()
    parser = email.parser.BytesHeaderParser()
    for path in folder.glob("*.eml"):
        with path.open("rb") as f:
            head = b""
            # only the header block is read and parsed (the parser would read the body too)
            while not re.search(rb"\r?\n\r?\n", head):
                chunk = f.read(4096)
                if not chunk:
                    break
                head += chunk
        headers = parser.parsebytes(re.split(rb"\r?\n\r?\n", head, maxsplit=1)[0] + b"\n\n")
        to = email.utils.parseaddr(str(headers["To"]))[1]
        pairs[(to, str(headers["X-Newsletter-Part"]))] += 1
    return pairs


def write_csv(
    path: Path,
    rows: list[list[str]],
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
) -> Path:
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def run_cli(*args: str) -> click.testing.Result:
    """`newsletter ARGS` in this process (exceptions propagate)."""
    from click.testing import CliRunner

    from newsletter.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: click.testing.Result, *needles: str) -> str:
    """The command failed with exit 1 and one line 'Error: ...' holding every needle."""
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "unexpected" not in lines[0].lower() and "Traceback" not in result.output
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


#: newsletter.toml lines that pass the go-live gate (a real sender, a public https base URL):
#: what a workspace needs before a real provider may send
LIVE_SETTINGS = (
    '[sender]\nname = "Calm Practice"\nemail = "news@calm-practice.org"\n'
    'postal_address = "1 Quiet Lane, Leeds LS1 4AP"\n'
    '[web]\nbase_url = "https://news.calm-practice.org"\n'
)


def newsletter_process(
    *args: str, cwd: Path | None = None, **variables: str
) -> subprocess.Popen[str]:
    """`newsletter ARGS` as a process of its own, without the test run's NEWSLETTER_
    variables (its newsletter.toml decides), with these environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(variables)
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_process(run: subprocess.Popen[str]) -> str:
    """SIGTERM, as systemd stops it; its output (killed if it does not stop in 20 s)."""
    try:
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=20)
    finally:
        if run.poll() is None:
            run.kill()
            out, _ = run.communicate()
    return out


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
