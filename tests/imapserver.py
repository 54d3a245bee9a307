"""A small IMAP4rev1 server on 127.0.0.1 for tests: enough of RFC 3501 (and MOVE,
UIDPLUS) for imaplib. CAPABILITY, LOGIN, SELECT, CREATE, UID SEARCH, UID FETCH (BODY[],
BODY.PEEK[], RFC822), UID COPY, UID MOVE, UID STORE, UID EXPUNGE, EXPUNGE, NOOP, LOGOUT.

Mailboxes live in memory: ``folders[name]`` is a list of :class:`Mail` (uid, flags, raw).
TLS from the first byte (IMAPS) with the certificate given; ``move=False`` leaves MOVE and
UIDPLUS out of the capabilities (a server that only has COPY, STORE and EXPUNGE).
"""

from __future__ import annotations

import re
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

USER, PASSWORD = "news@calm-practice.org", 'imap pass "quoted"'
_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\((?:[^()]|\([^()]*\))*\))|([^\s()]+)')


@dataclass
class Mail:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


@dataclass
class State:
    folders: dict[str, list[Mail]] = field(default_factory=lambda: {"INBOX": []})
    next_uid: int = 1
    uidvalidity: int = 1
    move: bool = True
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, raw: bytes, folder: str = "INBOX", flags: set[str] | None = None) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.folders.setdefault(folder, []).append(Mail(uid, raw, set(flags or ())))
            return uid


def _args(line: bytes) -> list[bytes]:
    out = []
    for m in _TOKEN.finditer(line):
        if m.group(1) is not None:
            out.append(re.sub(rb"\\(.)", rb"\1", m.group(1)))
        else:
            out.append(m.group(2) or m.group(3))
    return out


def _uids(spec: bytes) -> set[int]:
    out: set[int] = set()
    for piece in spec.split(b","):
        low, _, high = piece.partition(b":")
        if high:
            hi = 1 << 31 if high == b"*" else int(high)
            out.update(range(int(low), hi + 1) if hi < 1 << 20 else [])
        else:
            out.add(int(low))
    return out


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.wfile.write(data + b"\r\n")

    def handle(self) -> None:
        st = self.server.state
        caps = "IMAP4rev1 AUTH=PLAIN" + (" MOVE UIDPLUS" if st.move else "")
        self.send(f"* OK [CAPABILITY {caps}] fake IMAP ready")
        self.selected: str | None = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            parts = _args(line.rstrip(b"\r\n"))
            if len(parts) < 2:
                self.send(b"* BAD what?")
                continue
            tag, cmd, args = parts[0].decode(), parts[1].decode().upper(), parts[2:]
            with st.lock:
                st.commands.append(" ".join([cmd, *(a.decode() for a in args[:1])]))
            if cmd == "LOGOUT":
                self.send("* BYE bye")
                self.send(f"{tag} OK LOGOUT completed")
                return
            if cmd == "UID":
                cmd, args = "UID " + args[0].decode().upper(), args[1:]
            with st.lock:
                self.command(tag, cmd, args, caps)

    def command(self, tag: str, cmd: str, args: list[bytes], caps: str) -> None:
        st = self.server.state
        if cmd == "CAPABILITY":
            self.send(f"* CAPABILITY {caps}")
        elif cmd == "NOOP":
            pass
        elif cmd == "LOGIN":
            if (args[0].decode(), args[1].decode()) != (USER, PASSWORD):
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
                return
        elif cmd == "SELECT":
            name = args[0].decode()
            if name not in st.folders:
                self.send(f"{tag} NO [NONEXISTENT] no such mailbox")
                return
            self.selected = name
            self.send(f"* {len(st.folders[name])} EXISTS")
            self.send("* 0 RECENT")
            self.send(r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)")
            self.send(f"* OK [UIDVALIDITY {st.uidvalidity}] UIDs valid")
            self.send(f"* OK [UIDNEXT {st.next_uid}] next")
            self.send(f"{tag} OK [READ-WRITE] SELECT completed")
            return
        elif cmd == "CREATE":
            name = args[0].decode()
            if name in st.folders:
                self.send(f"{tag} NO [ALREADYEXISTS] exists")
                return
            st.folders[name] = []
        elif cmd == "UID SEARCH":
            criteria = b" ".join(args).upper()
            mails = st.folders[self.selected or ""]
            hits = [
                m.uid for m in mails if b"UNDELETED" not in criteria or "\\Deleted" not in m.flags
            ]
            self.send("* SEARCH" + "".join(f" {u}" for u in hits))
        elif cmd == "UID FETCH":
            wanted = _uids(args[0])
            what = b" ".join(args[1:]).upper()
            for seq, m in enumerate(st.folders[self.selected or ""], start=1):
                if m.uid not in wanted:
                    continue
                if b"PEEK" not in what:
                    m.flags.add("\\Seen")
                name = "RFC822" if b"RFC822" in what else "BODY[]"
                head = f"* {seq} FETCH (UID {m.uid} {name} {{{len(m.raw)}}}".encode()
                self.wfile.write(head + b"\r\n" + m.raw + b")\r\n")
        elif cmd in ("UID COPY", "UID MOVE"):
            target = args[1].decode()
            if target not in st.folders:
                self.send(f"{tag} NO [TRYCREATE] no such mailbox")
                return
            wanted = _uids(args[0])
            mails = st.folders[self.selected or ""]
            for m in [m for m in mails if m.uid in wanted]:
                st.folders[target].append(Mail(st.next_uid, m.raw, set(m.flags)))
                st.next_uid += 1
                if cmd == "UID MOVE":
                    self.send(f"* {mails.index(m) + 1} EXPUNGE")
                    mails.remove(m)
        elif cmd == "UID STORE":
            wanted = _uids(args[0])
            flags = {f.decode() for f in args[2].strip(b"()").split()}
            for m in st.folders[self.selected or ""]:
                if m.uid in wanted:
                    m.flags |= flags
        elif cmd in ("EXPUNGE", "UID EXPUNGE"):
            wanted = _uids(args[0]) if args else None
            mails = st.folders[self.selected or ""]
            for m in list(mails):
                if "\\Deleted" in m.flags and (wanted is None or m.uid in wanted):
                    self.send(f"* {mails.index(m) + 1} EXPUNGE")
                    mails.remove(m)
        else:
            self.send(f"{tag} BAD unknown command {cmd}")
            return
        self.send(f"{tag} OK {cmd} completed")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: State
    context: ssl.SSLContext | None

    def get_request(self):  # type: ignore[no-untyped-def]
        sock, addr = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, addr


@contextmanager
def imap_server(
    cert: Path | None = None, key: Path | None = None, move: bool = True
) -> Iterator[tuple[State, int]]:
    """(mailbox state, port) of a server on 127.0.0.1; IMAPS when a certificate is given."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = State(move=move)
    server.context = None
    if cert is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        server.context = ctx
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.state, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
