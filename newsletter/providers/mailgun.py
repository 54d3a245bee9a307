"""Mailgun: ``POST /v3/{domain}/messages`` with recipient-variables, up to 1,000 recipients.

The HTML and text are sent once with Mailgun's ``%recipient.x%`` tags; each recipient's
variables carry their first name (escaped for HTML) and unsubscribe URL, which also fills
their own List-Unsubscribe header. Tracking is turned off. A 200 answer queues every
recipient under one message id.

Mailgun has no idempotency key: a lost answer makes the batch "unknown". The batch's global
id goes out as the custom variable ``v:batch``, so ``newsletter run`` (or ``reconcile``)
finds the batch's ``accepted`` events with the events API and settles it.
Settings: ``[providers.mailgun] domain = "mg.example.com"``; EU region:
``base_url = "https://api.eu.mailgun.net"``. API key: ``$MAILGUN_API_KEY``.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import UTC
from typing import ClassVar

import requests

from ..errors import ConfigError
from .base import Asked, Batch, Evidence, Outcome, ProviderError, Recipient, Result
from .http import HttpProvider, Payload, html_tokens


class MailgunProvider(HttpProvider):
    name: ClassVar[str] = "mailgun"
    max_batch: ClassVar[int] = 1000
    api_key_env: ClassVar[str] = "MAILGUN_API_KEY"
    default_base_url: ClassVar[str] = "https://api.mailgun.net"
    path: ClassVar[str] = "/v3/{domain}/messages"
    max_request_bytes: ClassVar[int] = 25 * 1000 * 1000

    @classmethod
    def extra_settings(cls) -> tuple[str, ...]:
        return ("domain",)

    def auth_headers(self) -> dict[str, str]:
        token = base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def domain(self) -> str:
        domain = str(self.settings.get("domain") or self.sender_email.rpartition("@")[2])
        if not domain:
            raise ConfigError("[providers.mailgun] domain is not set")
        return domain

    def endpoint(self) -> str:
        return self.path.format(domain=self.domain)

    def check(self) -> list[str]:
        problems = super().check()
        if not self.settings.get("domain"):
            problems.append("[providers.mailgun] domain is not set (using the sender's domain)")
        return problems

    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        from ..render import FIRST_NAME, UNSUBSCRIBE_URL

        variables = {}
        data: list[tuple[str, str]] = [("from", batch.from_header), ("subject", batch.subject)]
        for r in recipients:
            name = r.first_name.strip() or batch.first_name_fallback
            variables[r.email] = {
                "first_name": name,
                "first_name_html": html.escape(name),
                "unsubscribe": r.unsubscribe_url,
                "unsubscribe_html": html.escape(r.unsubscribe_url),
            }
            data.append(("to", r.display))
        data += [
            (
                "text",
                batch.text.replace(FIRST_NAME, "%recipient.first_name%").replace(
                    UNSUBSCRIBE_URL, "%recipient.unsubscribe%"
                ),
            ),
            (
                "html",
                html_tokens(
                    batch.html, "%recipient.first_name_html%", "%recipient.unsubscribe_html%"
                ),
            ),
            ("recipient-variables", json.dumps(variables)),
            ("h:List-Unsubscribe", "<%recipient.unsubscribe%>"),
            ("h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("o:tracking", "yes" if self.track_opens or self.track_clicks else "no"),
            ("o:tracking-opens", "yes" if self.track_opens else "no"),
            ("o:tracking-clicks", "yes" if self.track_clicks else "no"),
        ]
        data += [(f"v:{k}", v) for k, v in batch.metadata.items()]
        if batch.tag:
            data.append(("o:tag", batch.tag))
        if batch.reply_to:
            data.append(("h:Reply-To", batch.reply_to))
        return Payload(recipients=recipients, data=data)

    evidence_source: ClassVar[str] = "log"

    def evidence(self, asked: Asked) -> Evidence:
        """Mailgun's events API: this batch's ``accepted`` (sent) and ``rejected`` (refused)
        events, found by the custom variable ``batch`` (the batch's global id, one plain
        value for the whole request), each matched to a row by the event's ``recipient``.

        Why by recipient, not by a per-recipient variable: Mailgun documents recipient
        variables (``%recipient.x%``) in the message's body and headers
        (https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/batch-sending)
        and custom ``v:`` variables as data attached to the message and returned in its
        events' ``user-variables``
        (https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/send-attachments,
        "Attaching Metadata to Messages"); neither page says that ``%recipient.x%`` is
        substituted inside a ``v:`` value, so nothing here relies on it: ``v:delivery``
        is read only when it is a plain delivery id of this batch."""
        by_address = {email.strip().lower(): i for i, email in asked.rows.items()}
        out = Evidence()
        url = f"{self.base_url}/v3/{self.domain}/events"
        params: dict[str, str] | None = {
            "event": "accepted OR rejected",
            "user-variables": json.dumps({"batch": asked.key}),
            "begin": str(int(asked.created_at.replace(tzinfo=UTC).timestamp()) - 3600),
            "ascending": "yes",
            "limit": "300",
        }
        for _ in range(10000):
            page = self.get_json(url, params)
            items = page.get("items") or []
            for item in items:
                v = item.get("user-variables") or {}
                if str(v.get("batch")) != asked.key:
                    continue
                delivery = str(v.get("delivery", ""))
                found = by_address.get(str(item.get("recipient", "")).strip().lower())
                if found is None and delivery.isdigit() and int(delivery) in asked.rows:
                    found = int(delivery)
                if found is None:
                    continue
                if item.get("event") == "rejected":
                    out.refused.add(found)
                else:
                    out.sent.add(found)
            nxt = (page.get("paging") or {}).get("next")
            if not items or not nxt:
                break
            url, params = str(nxt), None
        out.refused -= out.sent
        return out

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        if response.status_code == 200:
            message_id = response.json()["id"]
            return [
                Result(r.delivery_id, Outcome.QUEUED, message_id=message_id)
                for r in payload.recipients
            ]
        raise ProviderError(
            self.describe(response), payload=payload, status_code=response.status_code
        )
