"""Bench: the smtp provider through the send loop, against a local SMTP server (aiosmtpd in
its own process, STARTTLS with a self-signed certificate and AUTH, as a real mail host
asks), persistent connections against one message per connection, in the same run.

    python bench/smtp.py [--n 2000] [--single 300] [--connections 1 4]

Each run imports N subscribers into a fresh SQLite database, queues a series and sends
part 1 with ``newsletter``'s Sender; the server counts what it received, so the run also
checks that every subscriber got the message exactly once. The baseline sends --single
messages, each over a connection of its own (connect, EHLO, STARTTLS, AUTH, one message,
QUIT), as a provider without a pool would.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PASSWORD = "bench-password"
USER = "news@calm-practice.org"


def serve(port: int, folder: Path) -> None:
    """The server process: counts recipients, prints them as JSON on SIGTERM."""
    import ssl
    import threading

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.smtpserver import make_cert

    cert, key = make_cert(folder)
    counts: Counter[str] = Counter()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            counts[envelope.rcpt_tos[0]] += 1
            return "250 OK"

    def auth(*args: Any) -> AuthResult:
        return AuthResult(success=args[-1].password == PASSWORD.encode(), handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        ready_timeout=120,
    )
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    print(json.dumps({"total": sum(counts.values()), "distinct": len(counts)}), flush=True)


def start_server(folder: Path) -> tuple[subprocess.Popen[str], int]:
    from tests.smtpserver import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--folder", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def stop_server(proc: subprocess.Popen[str]) -> dict[str, int]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    return dict(json.loads(out.strip().splitlines()[-1]))


def send(n: int, port: int, cert: Path, connections: int, single: bool) -> tuple[float, int]:
    """N subscribers queued and part 1 sent; (seconds of the send, messages sent)."""
    from newsletter.config import Config, Security
    from newsletter.providers.smtp import SmtpProvider, _Conn
    from newsletter.schedule import queue_issue
    from newsletter.sender import Sender
    from newsletter.store import Store
    from newsletter.store.subscribers import import_csv

    class OnePerConnection(SmtpProvider):
        """Every message on a connection of its own (QUIT after it)."""

        def _give_back(self, conn: _Conn) -> None:
            self._quit(conn)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = Config(root=root)
        cfg.sender.email = USER
        cfg.smtp.host, cfg.smtp.port, cfg.smtp.security = "127.0.0.1", port, Security.STARTTLS
        cfg.smtp.username, cfg.smtp.ca_file = USER, str(cert)
        cfg.smtp.connections = connections
        cfg.smtp.batch_size = 1 if single else 100
        store = Store(cfg.db_url)
        csv = root / "s.csv"
        csv.write_text("email\n" + "".join(f"bench{i}@example.com\n" for i in range(n)))
        import_csv(store, csv, list_name="r")
        queue_issue(store, cfg, REPO / "issues" / "calmer-mornings.md", list_name="r", start="now")
        cls = OnePerConnection if single else SmtpProvider
        provider = cls(cfg.smtp, USER, PASSWORD)
        sender = Sender(store, provider, cfg)
        started = time.perf_counter()
        report = sender.send_due()
        seconds = time.perf_counter() - started
        provider.close()
        store.close()
    return seconds, report.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.folder)
        return
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    runs = [
        (f"{c} persistent connection(s), 100 a batch", args.n, c, False) for c in args.connections
    ]
    runs.append(("one message per connection (baseline)", args.single, 1, True))
    for label, n, connections, single in runs:
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_server(Path(tmp))
            try:
                seconds, sent = send(n, port, Path(tmp) / "cert.pem", connections, single)
            finally:
                got = stop_server(proc)
        ok = got == {"total": n, "distinct": n} and sent == n
        print(
            f"{label}: {n} messages in {seconds:.2f} s = {n / seconds:,.0f} messages/s; "
            f"server got {got['total']} ({got['distinct']} distinct): "
            + ("each once" if ok else "MISMATCH")
        )


if __name__ == "__main__":
    main()
