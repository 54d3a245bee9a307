"""Resend: ``POST /emails/batch``, up to 100 emails a call, with an idempotency key.

Each email is personalised here. The batch is sent in permissive validation mode, so an
invalid email is returned in ``errors`` (by index) and the others go out; only those
indices are per-recipient rejections. A 422 refuses the whole request (e.g. a bad sender):
every recipient is ``failed`` (tried again later), nobody is suppressed.

Resend keeps an idempotency key for 24 hours: when an answer is lost (a dropped
connection, a 5xx, the process dies), the same rows are sent again as the same batch with
the same key, and Resend answers with the first request's ids instead of sending twice.
A 409 (``invalid_idempotent_request``: the key was used for another payload;
``concurrent_idempotent_requests``: the first request is still in progress) is "unknown":
the same batch goes again under the same key.
API key: ``$RESEND_API_KEY``.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import requests

from .base import Batch, Outcome, ProviderError, Recipient, Result
from .http import HttpProvider, Payload, UnreadableAnswer, tag_text


class ResendProvider(HttpProvider):
    name: ClassVar[str] = "resend"
    max_batch: ClassVar[int] = 100
    idempotent: ClassVar[bool] = True
    api_key_env: ClassVar[str] = "RESEND_API_KEY"
    default_base_url: ClassVar[str] = "https://api.resend.com"
    path: ClassVar[str] = "/emails/batch"
    max_request_bytes: ClassVar[int] = 40 * 1000 * 1000
    tracking_per_message: ClassVar[bool] = False
    evidence_source: ClassVar[str] = "resend"

    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        emails: list[dict[str, Any]] = []
        # the part's tag travels as a Resend tag named "tag", beside the metadata
        named = {**batch.metadata, **({"tag": batch.tag} if batch.tag else {})}
        tags = [{"name": tag_text(k), "value": tag_text(v)} for k, v in named.items()]
        for r in recipients:
            html, text = batch.personalize(r)
            email: dict[str, Any] = {
                "from": batch.from_header,
                "to": [r.display],
                "subject": batch.subject,
                "html": html,
                "text": text,
                "headers": batch.headers(r),
                "tags": tags,
            }
            if batch.reply_to:
                email["reply_to"] = batch.reply_to
            emails.append(email)
        ids = ",".join(str(r.delivery_id) for r in recipients)
        key = f"{batch.key}:" + hashlib.sha256(ids.encode()).hexdigest()[:16]
        return Payload(
            recipients=recipients,
            json=emails,
            headers={"Idempotency-Key": key[:256], "x-batch-validation": "permissive"},
        )

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        if response.status_code == 409:
            # "concurrent_idempotent_requests": the first request under this key is still
            # in progress. Never rescheduled as new rows (a new batch has a new key: the
            # message would go out twice): unknown, so the SAME batch and key go again.
            return [
                Result(r.delivery_id, Outcome.UNKNOWN, error=self.describe(response))
                for r in payload.recipients
            ]
        if response.status_code != 200:  # 422 included: the whole request was refused
            raise ProviderError(
                self.describe(response), payload=payload, status_code=response.status_code
            )
        body = response.json()
        errors = {int(e["index"]): str(e.get("message", "")) for e in body.get("errors") or []}
        ids = [item["id"] for item in body.get("data") or []]
        if len(ids) != len(payload.recipients) - len(errors):
            raise UnreadableAnswer(
                f"resend answered {len(ids)} ids and {len(errors)} errors for "
                f"{len(payload.recipients)} emails"
            )
        accepted = iter(ids)
        results = []
        for i, r in enumerate(payload.recipients):
            if i in errors:
                results.append(Result(r.delivery_id, Outcome.INVALID, error=f"resend: {errors[i]}"))
            else:
                results.append(Result(r.delivery_id, Outcome.SENT, message_id=next(accepted)))
        return results
