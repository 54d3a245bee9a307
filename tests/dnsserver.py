"""A tiny authoritative DNS server on 127.0.0.1 (UDP, a random port) for domain checks.

Records are ``{(name, type): [rdata text, ...]}``; a name that has a CNAME answers it (and
the target's records when the target is in the table, as a resolver expects); anything else
is NXDOMAIN. Built with dnspython's message API.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Records = dict[tuple[str, str], list[str]]


def _answer(query: dns.message.Message, records: Records | None) -> dns.message.Message:
    response = dns.message.make_response(query)
    if records is None:  # a broken server: every answer is SERVFAIL
        response.set_rcode(dns.rcode.SERVFAIL)
        return response
    response.flags |= dns.flags.AA
    question = query.question[0]
    name, rdtype = question.name.to_text().rstrip(".").lower(), question.rdtype
    wanted = dns.rdatatype.to_text(rdtype)
    for _ in range(8):  # follow CNAMEs inside the table
        if (name, wanted) in records:
            values = records[(name, wanted)]
            if wanted == "TXT":  # as real zones do: quoted strings of at most 255 characters
                values = [
                    " ".join(_quoted(v[i : i + 255]) for i in range(0, len(v), 255)) for v in values
                ]
            response.answer.append(dns.rrset.from_text_list(name + ".", 300, "IN", wanted, values))
            return response
        if (name, "CNAME") in records and wanted != "CNAME":
            target = records[(name, "CNAME")][0]
            response.answer.append(
                dns.rrset.from_text_list(name + ".", 300, "IN", "CNAME", [target])
            )
            name = target.rstrip(".").lower()
            continue
        break
    if not response.answer and not any(n == name for n, _ in records):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def dns_server(records: Records | None) -> Iterator[str]:
    """Serve ``records`` (None: SERVFAIL to everything); yields ``127.0.0.1:PORT``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            sock.sendto(_answer(query, records).to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        sock.close()
