"""Local HTTP servers (127.0.0.1) that speak each provider's documented API contract:
authentication, batch limits, status codes and error bodies, per-recipient answers.
Every accepted message is recorded, personalised as the provider would deliver it.

A test can script answers before the real handling (``server.script = [429, 500]``) and
delay answers (``server.delay``) to provoke timeouts.
"""

from __future__ import annotations

import base64
import email.utils
import hmac
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

KEY = "test-key-5ecr3t-d0-not-log"
AKID = "AKIDEXAMPLENEWSLETTER"  # the AWS access key id that goes with KEY as its secret


@dataclass
class Delivered:
    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    #: the message's metadata (Postmark Metadata, Mailgun custom variables ...)
    meta: dict[str, str] = field(default_factory=dict)
    #: Postmark's message stream it went through
    stream: str = ""


@dataclass
class MockProvider:
    name: str
    key: str = KEY
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    delay_once: bool = True
    #: when set to an Event: every request waits (up to 300 s) until it is set, so that a
    #: test can show what happens while the provider has not answered, without timing it
    hold: threading.Event | None = None
    #: the Retry-After of a scripted 429
    retry_after: int = 1
    received: list[Delivered] = field(default_factory=list)
    requests: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    #: bytes of each request body received
    body_sizes: list[int] = field(default_factory=list)
    #: each request's raw body (when ``keep``), to check what was sent as it was sent
    bodies: list[bytes] = field(default_factory=list)
    idempotency: dict[str, tuple[str, Response]] = field(default_factory=dict)
    #: SES: the region each request was signed for (its SigV4 credential scope)
    regions: list[str] = field(default_factory=list)
    #: idempotency keys whose first request is being handled
    pending: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: keep each delivered message's bodies (off for benchmarks: only count them)
    keep: bool = True
    count: int = 0
    #: requests being handled now
    inflight: int = 0

    def __post_init__(self) -> None:
        self.app = Flask(f"mock-{self.name}")
        handler = getattr(self, f"_{self.name}")
        self.app.add_url_rule("/<path:path>", "any", self._wrap(handler), methods=["POST"])
        self.app.add_url_rule("/<path:path>", "log", self._log, methods=["GET"])
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def deliver(self, d: Delivered) -> None:
        with self.lock:
            self.count += 1
            if self.keep:
                self.received.append(d)

    def addresses(self) -> list[str]:
        return [d.to for d in self.received]

    def idle(self, timeout: float = 120.0) -> bool:
        """Wait until no request is being handled (a killed client's request may still be)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.inflight:
                    return True
            time.sleep(0.02)
        return False

    def _wrap(self, handler: Any) -> Any:
        def view(path: str) -> Response:
            with self.lock:
                self.inflight += 1
            try:
                return handle(path)
            finally:
                with self.lock:
                    self.inflight -= 1

        def handle(path: str) -> Response:
            with self.lock:
                self.requests += 1
                self.body_sizes.append(request.content_length or 0)
                if self.keep:
                    self.bodies.append(request.get_data())
                scripted = self.script.pop(0) if self.script else None
            if self.hold is not None:
                self.hold.wait(300)
            if self.delay:
                delay = self.delay
                if self.delay_once:
                    self.delay = 0.0
                time.sleep(delay)
            if scripted:
                headers = {"Retry-After": str(self.retry_after)} if scripted == 429 else {}
                return Response(
                    json.dumps({"message": f"scripted {scripted}", "ErrorCode": scripted}),
                    scripted,
                    headers=headers,
                    mimetype="application/json",
                )
            return handler(path)

        return view

    # --- message logs: Postmark's outbound search, Mailgun's events --------------------
    def _log(self, path: str) -> Response:
        with self.lock:
            received = list(self.received)
        if self.name == "postmark" and path == "messages/outbound":
            if request.headers.get("X-Postmark-Server-Token") != self.key:
                return _json({"ErrorCode": 10, "Message": "Bad or missing API token"}, 401)
            count, offset = int(request.args["count"]), int(request.args["offset"])
            if count > 500 or count + offset > 10000:
                return _json({"ErrorCode": 400, "Message": "count too large"}, 422)
            wanted = {
                k[len("metadata_") :]: v
                for k, v in request.args.items()
                if k.startswith("metadata_")
            }
            # As documented: without messagestream, the default transactional stream only.
            stream = request.args.get("messagestream") or "outbound"
            found = [
                d
                for d in received
                if d.stream == stream and all(d.meta.get(k) == v for k, v in wanted.items())
            ]
            page = found[offset : offset + count]
            return _json(
                {
                    "TotalCount": len(found),
                    "Messages": [
                        {
                            "MessageID": str(uuid.uuid5(uuid.NAMESPACE_URL, d.to + d.subject)),
                            "Recipients": [d.to],
                            "Subject": d.subject,
                            "Status": "Sent",
                            "Metadata": d.meta,
                        }
                        for d in page
                    ],
                },
                200,
            )
        if self.name == "mailgun" and re.fullmatch(r"v3/[^/]+/events", path):
            expected = "Basic " + base64.b64encode(f"api:{self.key}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return Response("Forbidden", 401)
            wanted = json.loads(request.args.get("user-variables") or "{}")
            found = [d for d in received if all(d.meta.get(k) == v for k, v in wanted.items())]
            offset = int(request.args.get("page_offset", 0))
            limit = min(int(request.args.get("limit", 100)), 300)
            page = found[offset : offset + limit]
            nxt = f"{self.url}/{path}?" + "&".join(
                f"{k}={v}" for k, v in request.args.items() if k != "page_offset"
            )
            nxt += f"&page_offset={offset + limit}"
            return _json(
                {
                    "items": [
                        {"event": "accepted", "recipient": d.to, "user-variables": d.meta}
                        for d in page
                    ],
                    "paging": {"next": nxt},
                },
                200,
            )
        return _json({"message": "not found"}, 404)

    # --- Postmark: POST /email/batch ---------------------------------------------------
    def _postmark(self, path: str) -> Response:
        if path != "email/batch":
            return _json({"ErrorCode": 404, "Message": "not found"}, 404)
        if request.headers.get("X-Postmark-Server-Token") != self.key:
            return _json({"ErrorCode": 10, "Message": "Bad or missing API token"}, 401)
        messages = request.get_json(silent=True)
        if not isinstance(messages, list):
            return _json({"ErrorCode": 402, "Message": "Invalid JSON"}, 422)
        if len(messages) > 500:
            return _json({"ErrorCode": 410, "Message": "Too many batch messages"}, 422)
        self.batch_sizes.append(len(messages))
        answers = []
        for m in messages:
            to = str(m.get("To", ""))
            if "@" not in to or "invalid" in to:
                answers.append({"ErrorCode": 300, "Message": "Invalid 'To' address"})
            elif "inactive" in to:
                answers.append(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to a recipient "
                        "that has been marked as inactive.",
                    }
                )
            else:
                headers = {h["Name"]: h["Value"] for h in m.get("Headers", [])}
                self.received.append(
                    Delivered(
                        _addr(to),
                        m["Subject"],
                        m.get("HtmlBody", ""),
                        m.get("TextBody", ""),
                        headers,
                        {str(k): str(v) for k, v in (m.get("Metadata") or {}).items()},
                        str(m.get("MessageStream") or "outbound"),
                    )
                )
                answers.append(
                    {
                        "To": to,
                        "SubmittedAt": "2026-11-25T10:00:00Z",
                        "MessageID": str(uuid.uuid4()),
                        "ErrorCode": 0,
                        "Message": "OK",
                    }
                )
        return _json(answers, 200)

    # --- SendGrid: POST /v3/mail/send --------------------------------------------------
    def _sendgrid(self, path: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return _json(
                {
                    "errors": [
                        {
                            "message": "The provided authorization grant is "
                            "invalid, expired, or revoked",
                            "field": None,
                        }
                    ]
                },
                401,
            )
        body = request.get_json(silent=True) or {}
        ps = body.get("personalizations") or []
        if not ps:
            return _json(
                {
                    "errors": [
                        {
                            "message": "You must have at least one personalization.",
                            "field": "personalizations",
                        }
                    ]
                },
                400,
            )
        if len(ps) > 1000:
            return _json(
                {
                    "errors": [
                        {
                            "message": "The personalization block is limited to "
                            "1000 personalizations per API request.",
                            "field": "personalizations",
                        }
                    ]
                },
                400,
            )
        errors = [
            {
                "message": "Does not contain a valid address.",
                "field": f"personalizations.{i}.to.0.email",
            }
            for i, p in enumerate(ps)
            if "invalid" in p["to"][0]["email"]
        ]
        if errors:
            return _json({"errors": errors}, 400)
        tracking = body.get("tracking_settings", {})
        assert tracking["open_tracking"]["enable"] is False
        self.batch_sizes.append(len(ps))
        content = {c["type"]: c["value"] for c in body["content"]}
        for p in ps:
            subs = p.get("substitutions", {})
            self.received.append(
                Delivered(
                    p["to"][0]["email"],
                    body["subject"],
                    _sub(content["text/html"], subs),
                    _sub(content["text/plain"], subs),
                    {k: _sub(v, subs) for k, v in (p.get("headers") or {}).items()},
                    {**(body.get("custom_args") or {}), **(p.get("custom_args") or {})},
                )
            )
        return Response("", 202, headers={"X-Message-Id": uuid.uuid4().hex[:22]})

    # --- Mailgun: POST /v3/<domain>/messages -------------------------------------------
    def _mailgun(self, path: str) -> Response:
        if not re.fullmatch(r"v3/[^/]+/messages", path):
            return _json({"message": "not found"}, 404)
        expected = "Basic " + base64.b64encode(f"api:{self.key}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Response("Forbidden", 401)
        form = request.form
        tos = form.getlist("to")
        if not tos:
            return _json({"message": "'to' parameter is missing"}, 400)
        if len(tos) > 1000:
            return _json({"message": "Too many recipients"}, 400)
        variables = json.loads(form.get("recipient-variables") or "{}")
        if len(tos) > 1 and not variables:
            return _json({"message": "recipient-variables are required for batches"}, 400)
        self.batch_sizes.append(len(tos))
        for to in tos:
            email = _addr(to)
            v = variables.get(email, {})
            headers = {k[2:]: _mg(val, v) for k, val in form.items() if k.startswith("h:")}
            # Custom variables as sent: Mailgun's documentation does not say that
            # %recipient.x% is substituted inside a v: value, so the mock does not.
            meta = {k[2:]: val for k, val in form.items() if k.startswith("v:")}
            self.received.append(
                Delivered(
                    email,
                    form["subject"],
                    _mg(form["html"], v),
                    _mg(form["text"], v),
                    headers,
                    meta,
                )
            )
        return _json(
            {"id": f"<{uuid.uuid4().hex}@mg.example.com>", "message": "Queued. Thank you."}, 200
        )

    # --- Resend: POST /emails/batch ------------------------------------------------------
    def _resend(self, path: str) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return _json(
                {
                    "statusCode": 401,
                    "name": "missing_api_key",
                    "message": "Missing API key in the authorization header",
                },
                401,
            )
        raw = request.get_data(as_text=True)
        key = request.headers.get("Idempotency-Key")
        with self.lock:
            if key and key in self.pending:  # the first request is still being handled
                return _json(
                    {
                        "statusCode": 409,
                        "name": "concurrent_idempotent_requests",
                        "message": "Same idempotency key used while original request is "
                        "still in progress",
                    },
                    409,
                )
            if key and key in self.idempotency:
                seen_body, response = self.idempotency[key]
                if seen_body != raw:
                    return _json(
                        {
                            "statusCode": 409,
                            "name": "invalid_idempotent_request",
                            "message": "Same idempotency key used with a different request payload",
                        },
                        409,
                    )
                return Response(
                    response.get_data(), response.status_code, mimetype="application/json"
                )
            if key:
                self.pending.add(key)
        try:
            return self._resend_batch(raw, key)
        finally:
            with self.lock:
                self.pending.discard(key or "")

    def _resend_batch(self, raw: str, key: str | None) -> Response:
        emails = json.loads(raw)
        if len(emails) > 100:
            return _json(
                {
                    "statusCode": 422,
                    "name": "validation_error",
                    "message": "Too many emails in the batch (max 100)",
                },
                422,
            )
        if any("@" not in _addr(str(e.get("from", ""))) for e in emails):
            return _json(
                {"statusCode": 422, "name": "validation_error", "message": "Invalid `from` field"},
                422,
            )
        permissive = request.headers.get("x-batch-validation") == "permissive"
        bad = [i for i, e in enumerate(emails) if "invalid" in e["to"][0]]
        if bad and not permissive:
            return _json(
                {"statusCode": 422, "name": "validation_error", "message": "Invalid `to` field"},
                422,
            )
        self.batch_sizes.append(len(emails))
        data = []
        for i, e in enumerate(emails):
            if i in bad:
                continue
            self.received.append(
                Delivered(
                    _addr(e["to"][0]),
                    e["subject"],
                    e["html"],
                    e["text"],
                    e.get("headers", {}),
                    {t["name"]: t["value"] for t in e.get("tags") or []},
                )
            )
            data.append({"id": str(uuid.uuid4())})
        body: dict[str, Any] = {"data": data}
        if permissive:
            body["errors"] = [{"index": i, "message": "Invalid `to` field"} for i in bad]
        response = _json(body, 200)
        if key:
            with self.lock:
                self.idempotency[key] = (raw, response)
        return response


class FaultyFront:
    """A raw HTTP server on 127.0.0.1 in front of a MockProvider: each request is handled by
    the provider (so what it accepts is recorded) and then, for the first ``times``
    requests, the answer is spoiled as the network or a proxy can spoil it:

    ``drop``: the whole body was read and processed, then the connection is closed with no
    answer; ``502`` (any status code): a proxy's 502 after the provider accepted;
    ``hang``: no answer at all for ``hang`` seconds; ``nonjson``: 200 with an HTML body;
    ``short``: a JSON list with fewer results than messages; ``drip``: the real answer one
    byte every 0.2 s; ``cut``: a Content-Length longer than the body, then the connection
    closes; ``refuse``: the port is closed before any request (connection refused).
    """

    def __init__(self, mock: MockProvider, fault: str, times: int = 1, hang: float = 5.0) -> None:
        import http.server
        import socketserver

        self.mock, self.fault, self.times, self.hang = mock, fault, times, hang
        self.spoiled = 0
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(b"", "GET")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._forward(self.rfile.read(length), "POST")

            def _forward(self, body: bytes, method: str) -> None:
                client = front.mock.app.test_client()
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = client.open(self.path, method=method, data=body, headers=headers)
                data, status = answer.get_data(), answer.status_code
                with front.mock.lock:
                    spoil = method == "POST" and front.spoiled < front.times
                    if spoil:
                        front.spoiled += 1
                if not spoil:
                    return self._send(status, data, answer.headers.get("Content-Type", ""))
                fault = front.fault
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                elif fault.isdigit():  # a proxy's (or the provider's) 5xx after it accepted
                    page = f"<html><h1>{fault} error</h1></html>".encode()
                    self._send(int(fault), page, "text/html")
                elif fault == "hang":
                    time.sleep(front.hang)
                    self.close_connection = True
                elif fault == "nonjson":
                    self._send(200, b"<html>OK</html>", "text/html")
                elif fault == "short":
                    items = json.loads(data)
                    self._send(
                        200, json.dumps(items[: len(items) // 2]).encode(), "application/json"
                    )
                elif fault == "drip":
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(0.2)
                elif fault == "cut":
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data) + 100))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                else:
                    raise ValueError(fault)

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.holder: socket.socket | None = None
        if fault == "refuse":
            # A port bound but not listening refuses connections, and no other server (a
            # test running beside this one) can take it meanwhile.
            self.server.server_close()
            self.holder = refusing_socket()
            self.port = self.holder.getsockname()[1]
            self.thread = None
        else:
            self.thread = threading.Thread(
                target=self.server.serve_forever, args=(0.05,), daemon=True
            )
            self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.holder is not None:
            self.holder.close()


def refusing_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 that never listens: connecting to it is
    refused for as long as it stays open (close it when done)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    return holder


def _sigv4_valid(secret: str) -> bool:
    """Check an AWS Signature Version 4 the way AWS does: sign the request again."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    m = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/\d{8}/([^/]+)/ses/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=(\w+)",
        request.headers.get("Authorization", ""),
    )
    if not m or m.group(1) != AKID:
        return False
    names = m.group(3).split(";")
    signed = AWSRequest(
        method=request.method,
        url=request.url,
        data=request.get_data(),
        headers={n: request.headers.get(n, "") for n in names},
    )
    signed.context["timestamp"] = request.headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(AKID, secret), "ses", m.group(2))
    expected = signer.signature(
        signer.string_to_sign(signed, signer.canonical_request(signed)), signed
    )
    return hmac.compare_digest(expected, m.group(4))


def _handlebars(template: str, data: dict[str, str]) -> str:
    """The part of Handlebars the adapter uses: {{{name}}} and escaped \\{{."""
    out = re.sub(r"(?<!\\)\{\{\{(\w+)\}\}\}", lambda m: str(data.get(m.group(1), "")), template)
    return out.replace("\\{{", "{{")


def _ses_handler(self: MockProvider, path: str) -> Response:
    """SES v2 SendBulkEmail: POST /v2/email/outbound-bulk-emails, up to 50 entries."""
    if path != "v2/email/outbound-bulk-emails":
        return _json({"message": "not found"}, 404)
    if not _sigv4_valid(self.key):
        return _json(
            {
                "message": "The request signature we calculated does not match the "
                "signature you provided."
            },
            403,
        )
    scope = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", request.headers["Authorization"])
    self.regions.append(scope.group(1) if scope else "")
    body = request.get_json(silent=True) or {}
    entries = body.get("BulkEmailEntries") or []
    if not entries or len(entries) > 50:
        return _json({"message": "BulkEmailEntries must have 1 to 50 entries"}, 400)
    content = body["DefaultContent"]["Template"]["TemplateContent"]
    self.batch_sizes.append(len(entries))
    results = []
    for e in entries:
        to = _addr(e["Destination"]["ToAddresses"][0])
        if "invalid" in to or "inactive" in to:
            results.append({"Status": "MESSAGE_REJECTED", "Error": "Address is suppressed"})
            continue
        data = json.loads(
            e["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
        )
        headers = {h["Name"]: h["Value"] for h in e.get("ReplacementHeaders", [])}
        self.deliver(
            Delivered(
                to,
                _handlebars(content["Subject"], data),
                _handlebars(content["Html"], data),
                _handlebars(content["Text"], data),
                headers,
                {t["Name"]: t["Value"] for t in e.get("ReplacementTags") or []},
            )
        )
        results.append({"Status": "SUCCESS", "MessageId": uuid.uuid4().hex})
    return _json({"BulkEmailEntryResults": results}, 200)


MockProvider._ses = _ses_handler  # type: ignore[attr-defined]


def _json(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


def _addr(value: str) -> str:
    return email.utils.parseaddr(value)[1]


def _sub(text: str, subs: dict[str, str]) -> str:
    # SendGrid documents no order of replacement: shortest key first here, which spoils
    # any key that is a prefix of another.
    for k, v in sorted(subs.items()):
        text = text.replace(k, v)
    return text


def _mg(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"%recipient\.([\w]+)%", lambda m: str(variables.get(m.group(1), "")), text)


if __name__ == "__main__":  # a mock in its own process, for bench/
    import logging
    import sys

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = MockProvider(sys.argv[1], keep=False)
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
