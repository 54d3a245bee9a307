"""Postmark: ``POST /email/batch``, up to 500 messages a call, one answer per message.

Each message is personalised here (Postmark has no per-recipient substitution in the
batch API). The answer is an array in the order of the messages: ``ErrorCode`` 0 is
accepted; 406 (inactive recipient: bounced or complained before) and 300 (invalid request,
e.g. a bad address) are permanent rejections, never retried.

Postmark has no idempotency key: if the answer is lost (the process dies, the connection
drops after the request was sent, the answer cannot be read) the batch becomes "unknown"
(see ``newsletter status``). Every message carries the batch's global id in its Metadata
(and Message-ID), so ``newsletter run`` (or ``newsletter reconcile``) finds it with
Postmark's outbound message search, in the stream it was sent through, and settles it.
Settings: ``[providers.postmark] message_stream = "broadcast"`` (bulk mail must go through a
broadcast stream), ``base_url``. API key: ``$POSTMARK_SERVER_TOKEN``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests

from .base import Asked, Batch, Evidence, Outcome, ProviderError, Recipient, Result
from .http import HttpProvider, Payload, UnreadableAnswer
from .splice import (
    ENCODER,
    HTML_SLOT,
    TEXT_SLOT,
    MessageJson,
    PartJson,
    json_array,
    slot,
    string_json,
)

PERMANENT = {406: Outcome.REJECTED, 300: Outcome.INVALID}
#: whole-request ErrorCodes only a person can fix: sender signature not found (400) or not
#: confirmed (401), not allowed to send / out of credit (405), account pending approval (412)
ACCOUNT_CODES = {400, 401, 405, 412}
#: the outbound search: at most 500 a page, count + offset at most 10,000
PAGE, MAX_OFFSET = 500, 10000
#: where a recipient's address, headers and delivery id go in the message encoded once
TO, HEADERS, DELIVERY = slot("to"), slot("headers"), slot("delivery")
_TO, _HEADERS, _DELIVERY = (json.dumps(s).encode() for s in (TO, HEADERS, DELIVERY))


class PostmarkProvider(HttpProvider):
    name: ClassVar[str] = "postmark"
    max_batch: ClassVar[int] = 500
    api_key_env: ClassVar[str] = "POSTMARK_SERVER_TOKEN"
    default_base_url: ClassVar[str] = "https://api.postmarkapp.com"
    path: ClassVar[str] = "/email/batch"
    max_request_bytes: ClassVar[int] = 50 * 1000 * 1000

    @classmethod
    def extra_settings(cls) -> tuple[str, ...]:
        return ("message_stream",)

    def auth_headers(self) -> dict[str, str]:
        return {"X-Postmark-Server-Token": self.api_key, "Accept": "application/json"}

    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        """The request body: each message in full, as Postmark's batch API takes them. The
        message is JSON-encoded once, and each recipient's spliced from it: the same bytes
        as encoding every message whole, several times faster."""
        part = PartJson(batch)
        message = MessageJson(
            self.fields(batch, TO, HEADERS, DELIVERY, HTML_SLOT, TEXT_SLOT), (TO, HEADERS, DELIVERY)
        )
        if message.usable:
            items = (message.fragments(self.values(batch, r, part)) for r in recipients)
        else:  # a slot's text in the part's own fields: each message encoded whole
            items = (
                [
                    json.dumps(
                        self.message(batch, r, *batch.personalize(r)), ensure_ascii=False
                    ).encode()
                ]
                for r in recipients
            )
        return Payload(
            recipients=recipients,
            data=json_array(items),
            headers={"Content-Type": "application/json"},
        )

    def message(self, batch: Batch, r: Recipient, html: str, text: str) -> dict[str, Any]:
        """One recipient's message with these HTML and text bodies."""
        return self.fields(
            batch, r.display, self.header_list(batch, r), str(r.delivery_id), html, text
        )

    def values(self, batch: Batch, r: Recipient, part: PartJson) -> dict[bytes, list[bytes]]:
        """A recipient's own values in :meth:`fields`, JSON-encoded, by their slots."""
        headers = ENCODER.encode(self.header_list(batch, r)).encode()
        return {
            _TO: string_json(r.display),
            _HEADERS: [headers],
            _DELIVERY: string_json(str(r.delivery_id)),
            **part.bodies(r),
        }

    @staticmethod
    def header_list(batch: Batch, r: Recipient) -> list[dict[str, str]]:
        return [{"Name": k, "Value": v} for k, v in batch.headers(r).items()]

    def fields(
        self, batch: Batch, to: str, headers: object, delivery: str, html: str, text: str
    ) -> dict[str, Any]:
        """A message of ``batch`` with these recipient's values."""
        message: dict[str, Any] = {
            "From": batch.from_header,
            "To": to,
            "Subject": batch.subject,
            "HtmlBody": html,
            "TextBody": text,
            "Headers": headers,
            "MessageStream": self.settings.get("message_stream", "broadcast"),
            "TrackOpens": self.track_opens,
            "TrackLinks": "HtmlAndText" if self.track_clicks else "None",
            "Metadata": {"delivery": delivery, **batch.metadata},
        }
        if batch.tag:
            message["Tag"] = batch.tag
        if batch.reply_to:
            message["ReplyTo"] = batch.reply_to
        return message

    evidence_source: ClassVar[str] = "log"

    @property
    def stream(self) -> str:
        return str(self.settings.get("message_stream", "broadcast"))

    def needs_a_person(self, response: requests.Response) -> bool:
        """422 with an account-level ErrorCode: the sender signature is missing or not
        confirmed, the account is out of credit or pending approval."""
        if response.status_code != 422:
            return False
        try:
            return int(response.json().get("ErrorCode", 0)) in ACCOUNT_CODES
        except (ValueError, AttributeError, TypeError):
            return False

    def evidence(self, asked: Asked) -> Evidence:
        """Postmark's outbound message search
        (https://postmarkapp.com/developer/api/messages-api#outbound-message-search) in the
        stream we send through (without ``messagestream`` it searches the default
        transactional stream only), filtered by our Metadata ``batch`` (the batch's global
        id), in a window around the request, paged to the end. A message counts only when
        its Metadata holds this batch's id and one of its unknown delivery ids."""
        found: set[int] = set()
        offset = 0
        # Postmark reads these dates in its own time zone: a day's margin either side.
        later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
        window = {
            "fromdate": f"{asked.created_at - timedelta(days=1):%Y-%m-%dT%H:%M:%S}",
            "todate": f"{later:%Y-%m-%dT%H:%M:%S}",
        }
        while True:
            page = self.get_json(
                f"{self.base_url}/messages/outbound",
                {
                    "count": str(PAGE),
                    "offset": str(offset),
                    "messagestream": self.stream,
                    "metadata_batch": asked.key,
                    **window,
                },
            )
            messages = page.get("Messages") or []
            for m in messages:
                meta = m.get("Metadata") or {}
                delivery = str(meta.get("delivery", ""))
                ours = str(meta.get("batch")) == asked.key and delivery.isdigit()
                if ours and int(delivery) in asked.rows:
                    found.add(int(delivery))
            offset += len(messages)
            total = int(page.get("TotalCount", 0))
            if not messages or offset >= total:
                return Evidence(sent=found)
            if offset + PAGE > MAX_OFFSET:  # Postmark pages no further than 10,000
                raise ProviderError(
                    f"postmark: {total} messages carry batch {asked.key}: more than its "
                    "search can page through"
                )

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        if response.status_code != 200:
            raise ProviderError(
                self.describe(response),
                payload=payload,
                status_code=response.status_code,
                response_text=self.scrub(response.text[:500]),
            )
        answers = response.json()
        if not isinstance(answers, list) or len(answers) != len(payload.recipients):
            n = len(answers) if isinstance(answers, list) else "no list of"
            raise UnreadableAnswer(
                f"postmark answered {n} results for {len(payload.recipients)} messages"
            )
        results = []
        for r, answer in zip(payload.recipients, answers, strict=True):
            code = int(answer.get("ErrorCode", -1))
            if code == 0:
                results.append(
                    Result(r.delivery_id, Outcome.SENT, message_id=answer.get("MessageID"))
                )
            else:
                status = PERMANENT.get(code, Outcome.FAILED)
                results.append(
                    Result(
                        r.delivery_id, status, error=f"postmark {code}: {answer.get('Message', '')}"
                    )
                )
        return results
