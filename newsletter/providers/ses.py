"""Amazon SES v2: ``POST /v2/email/outbound-bulk-emails`` (SendBulkEmail), 50 destinations a
call, requests signed with AWS Signature Version 4 by botocore (an optional dependency:
``pip install 'newsletter[ses]'``).

The part goes once as an inline template (``TemplateContent``); each entry carries its
recipient's data and its own List-Unsubscribe headers. SES templates are Handlebars:
the first name and unsubscribe URL are inserted with triple braces from values we escape
ourselves, and any ``{{`` already in the part is escaped so that article text is never a
template. The answer has one status per entry, in order: ``SUCCESS`` is accepted,
``MESSAGE_REJECTED`` and ``INVALID_PARAMETER`` are permanent, the rest are tried again.

SES has no idempotency key: a lost answer makes the batch "unknown"; SES keeps no message
log that can be searched by our metadata: the batch is settled from its ``Send``,
``Delivery`` and ``Reject`` events (the batch's global id goes out as the ``batch`` message
tag, the row as ``delivery``) posted to ``newsletter serve``, or by the editor.
Credentials: botocore's default credential chain (environment variables, the shared
credentials file and ``AWS_PROFILE``, container and instance roles), refreshed as needed.
Settings: ``[providers.ses] region = "eu-west-1"``, ``configuration_set``, ``base_url``.
"""

from __future__ import annotations

import html
import json
from typing import Any, ClassVar

import requests

from ..errors import ConfigError
from ..render import FIRST_NAME, UNSUBSCRIBE_URL
from .base import Batch, Outcome, ProviderError, Recipient, Result
from .http import HttpProvider, Payload, UnreadableAnswer

STATUS = {
    "SUCCESS": Outcome.SENT,
    "MESSAGE_REJECTED": Outcome.REJECTED,
    "INVALID_PARAMETER": Outcome.INVALID,
}


def _botocore() -> Any:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.session import get_session
    except ImportError:
        raise ConfigError(
            "the ses provider signs its requests with botocore, which is not installed",
            hint="pip install 'newsletter[ses]'",
        ) from None
    return SigV4Auth, AWSRequest, get_session


def aws_credentials() -> Any:
    """Credentials from botocore's default chain, or a clear error when there are none."""
    get_session = _botocore()[2]
    from botocore.exceptions import BotoCoreError

    try:
        creds = get_session().get_credentials()
    except BotoCoreError as exc:
        raise ConfigError(f"provider 'ses': the AWS credentials are not usable: {exc}") from None
    if creds is None:
        raise ConfigError(
            "provider 'ses' found no AWS credentials",
            hint="set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where an "
            "instance or container role applies (never put keys in newsletter.toml)",
        )
    return creds


def handlebars_text(text: str) -> str:
    """Article text as a Handlebars template that prints it unchanged."""
    return text.replace("{{", "\\{{")


class SesProvider(HttpProvider):
    name: ClassVar[str] = "ses"
    max_batch: ClassVar[int] = 50
    api_key_env: ClassVar[str] = "AWS_SECRET_ACCESS_KEY"
    default_base_url: ClassVar[str] = "https://email.{region}.amazonaws.com"
    path: ClassVar[str] = "/v2/email/outbound-bulk-emails"
    max_request_bytes: ClassVar[int] = 10 * 1000 * 1000
    tracking_per_message: ClassVar[bool] = False
    evidence_source: ClassVar[str] = "webhooks"

    @classmethod
    def extra_settings(cls) -> tuple[str, ...]:
        return ("region", "configuration_set")

    @classmethod
    def load_api_key(cls) -> str:
        """The secret key, only to scrub it from messages: signing uses the credentials
        object, which botocore refreshes (roles, SSO)."""
        return str(aws_credentials().get_frozen_credentials().secret_key)

    _credentials: Any = None

    def default_url(self) -> str:
        return self.default_base_url.format(region=self.region())

    def auth_headers(self) -> dict[str, str]:
        return {}  # every request is signed on its own (SigV4 covers the body)

    def region(self) -> str:
        return str(self.settings.get("region", "us-east-1"))

    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        html_part = handlebars_text(batch.html).replace(FIRST_NAME, "{{{first_name_html}}}")
        html_part = html_part.replace(UNSUBSCRIBE_URL, "{{{unsubscribe_html}}}")
        text_part = handlebars_text(batch.text).replace(FIRST_NAME, "{{{first_name}}}")
        text_part = text_part.replace(UNSUBSCRIBE_URL, "{{{unsubscribe}}}")
        entries = []
        for r in recipients:
            name = r.first_name.strip() or batch.first_name_fallback
            data = {
                "first_name": name,
                "first_name_html": html.escape(name),
                "unsubscribe": r.unsubscribe_url,
                "unsubscribe_html": html.escape(r.unsubscribe_url),
            }
            entries.append(
                {
                    "Destination": {"ToAddresses": [r.display]},
                    "ReplacementEmailContent": {
                        "ReplacementTemplate": {"ReplacementTemplateData": json.dumps(data)}
                    },
                    "ReplacementHeaders": [
                        {"Name": k, "Value": v}
                        for k, v in batch.headers(r, message_id=False).items()
                    ],
                    "ReplacementTags": [
                        {"Name": "delivery", "Value": str(r.delivery_id)},
                        *({"Name": k, "Value": v} for k, v in batch.metadata.items()),
                    ],
                }
            )
        body: dict[str, Any] = {
            "FromEmailAddress": batch.from_header,
            "DefaultContent": {
                "Template": {
                    "TemplateContent": {
                        "Subject": handlebars_text(batch.subject),
                        "Text": text_part,
                        "Html": html_part,
                    },
                    "TemplateData": json.dumps({"first_name": batch.first_name_fallback}),
                }
            },
            "BulkEmailEntries": entries,
        }
        if batch.reply_to:
            body["ReplyToAddresses"] = [batch.reply_to]
        if self.settings.get("configuration_set"):
            body["ConfigurationSetName"] = str(self.settings["configuration_set"])
        return Payload(recipients=recipients, json=body)

    def post(self, batch: Batch, payload: Payload) -> list[Result]:
        sig_v4, aws_request, _ = _botocore()
        url = f"{self.base_url}{self.endpoint()}"
        request = aws_request(
            method="POST", url=url, data=payload.data, headers={"Content-Type": "application/json"}
        )
        if self._credentials is None:
            self._credentials = aws_credentials()
        sig_v4(self._credentials.get_frozen_credentials(), "ses", self.region()).add_auth(request)
        payload.headers = dict(request.headers.items())
        return super().post(batch, payload)

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        if response.status_code != 200:
            raise ProviderError(
                self.describe(response), payload=payload, status_code=response.status_code
            )
        answers = response.json()["BulkEmailEntryResults"]
        if len(answers) != len(payload.recipients):
            raise UnreadableAnswer(
                f"ses answered {len(answers)} results for {len(payload.recipients)} destinations"
            )
        results = []
        for r, a in zip(payload.recipients, answers, strict=True):
            status = STATUS.get(str(a.get("Status")), Outcome.FAILED)
            results.append(
                Result(
                    r.delivery_id,
                    status,
                    message_id=a.get("MessageId"),
                    error=None
                    if status == Outcome.SENT
                    else f"ses {a.get('Status')}: {a.get('Error', '')}",
                )
            )
        return results
