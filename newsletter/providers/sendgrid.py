"""SendGrid v3 mail send: one content, up to 1,000 personalizations a call.

The HTML and text are sent once, with SendGrid substitutions for each recipient's first name
(escaped for HTML) and unsubscribe URL; each personalization carries its own
List-Unsubscribe headers and the delivery id in ``custom_args``. Open and click tracking are
turned off explicitly. A 202 answer accepts every recipient ("queued"). A 400 that names a
personalization's address marks that recipient invalid; the others were not sent and
come back ``deferred``, to go out again at once in a new request.

If the answer is lost, SendGrid has no idempotency key: those rows become "unknown", and
are settled from the event webhook's ``processed``/``delivered`` (sent) and ``dropped``
(refused) events, which carry our ``custom_args`` (``batch``: the batch's global id,
``delivery``: the row), or by the editor.
API key: ``$SENDGRID_API_KEY``. EU accounts: ``base_url = "https://api.eu.sendgrid.com"``.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

import requests

from .base import Batch, Outcome, ProviderError, Recipient, Result
from .http import HttpProvider, Payload, html_tokens

FIELD = re.compile(r"personalizations\.(\d+)\.to\.")
#: substitution keys: none is a prefix of another (SendGrid documents no replacement order)
NAME_HTML, NAME_TEXT = "-nl-name-html-", "-nl-name-text-"
UNSUB_HTML, UNSUB_TEXT = "-nl-unsub-html-", "-nl-unsub-text-"


class SendGridProvider(HttpProvider):
    name: ClassVar[str] = "sendgrid"
    max_batch: ClassVar[int] = 1000
    api_key_env: ClassVar[str] = "SENDGRID_API_KEY"
    default_base_url: ClassVar[str] = "https://api.sendgrid.com"
    path: ClassVar[str] = "/v3/mail/send"
    max_request_bytes: ClassVar[int] = 30 * 1000 * 1000
    evidence_source: ClassVar[str] = "webhooks"

    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        from ..render import FIRST_NAME, UNSUBSCRIBE_URL

        personalizations = []
        for r in recipients:
            name = r.first_name.strip() or batch.first_name_fallback
            p: dict[str, Any] = {
                "to": [
                    {
                        "email": r.email,
                        **(
                            {"name": f"{r.first_name} {r.last_name}".strip()}
                            if r.first_name or r.last_name
                            else {}
                        ),
                    }
                ],
                "substitutions": {
                    NAME_HTML: html.escape(name),
                    NAME_TEXT: name,
                    UNSUB_HTML: html.escape(r.unsubscribe_url),
                    UNSUB_TEXT: r.unsubscribe_url,
                },
                "custom_args": {"delivery": str(r.delivery_id)},
            }
            headers = batch.headers(r)
            if headers:
                p["headers"] = headers
            personalizations.append(p)
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": {
                "email": batch.from_email,
                **({"name": batch.from_name} if batch.from_name else {}),
            },
            "subject": batch.subject,
            "content": [
                {
                    "type": "text/plain",
                    "value": batch.text.replace(FIRST_NAME, NAME_TEXT).replace(
                        UNSUBSCRIBE_URL, UNSUB_TEXT
                    ),
                },
                {"type": "text/html", "value": html_tokens(batch.html, NAME_HTML, UNSUB_HTML)},
            ],
            "custom_args": dict(batch.metadata),
            "tracking_settings": {
                "click_tracking": {"enable": self.track_clicks},
                "open_tracking": {"enable": self.track_opens},
                "subscription_tracking": {"enable": False},
            },
        }
        if batch.tag:
            body["categories"] = [batch.tag[:255]]
        if batch.reply_to:
            body["reply_to"] = {"email": batch.reply_to}
        return Payload(recipients=recipients, json=body)

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        if response.status_code == 202:
            message_id = response.headers.get("X-Message-Id")
            return [
                Result(r.delivery_id, Outcome.QUEUED, message_id=message_id)
                for r in payload.recipients
            ]
        if response.status_code == 400:
            try:
                errors = response.json().get("errors", [])
            except ValueError:
                errors = []
            invalid = {}
            for e in errors:
                m = FIELD.match(str(e.get("field") or ""))
                if m and int(m.group(1)) < len(payload.recipients):
                    invalid[int(m.group(1))] = str(e.get("message", "invalid address"))
            if invalid:
                return [
                    Result(r.delivery_id, Outcome.INVALID, error=f"sendgrid: {invalid[i]}")
                    if i in invalid
                    else Result(
                        r.delivery_id,
                        Outcome.DEFERRED,
                        error="not sent: another address in the request was invalid",
                        retry_after=0,
                    )
                    for i, r in enumerate(payload.recipients)
                ]
        raise ProviderError(
            self.describe(response), payload=payload, status_code=response.status_code
        )
