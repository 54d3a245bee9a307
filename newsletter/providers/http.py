"""The shared base of providers with an HTTP API.

The base class fixes the order of steps once (as django-anymail's does): build the
payloads for a batch (split to the provider's recipient and size limits), post each
through one pooled ``requests.Session`` with retries, turn each answer into one Result per
recipient. A provider module only says how a batch becomes a request and how a response
becomes results.

Retries (urllib3's Retry): 429 and 5xx answers and connection failures are retried with
exponential backoff and jitter, honouring Retry-After. A read timeout is retried only
where the provider takes an idempotency key; elsewhere the request may have been
delivered, so its recipients become "unknown" rather than risk sending twice.

The API key comes from an environment variable; it is sent in a header and scrubbed from
every message this module produces.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .. import secrets
from ..config import Config
from ..errors import ConfigError
from ..render import FIRST_NAME, UNSUBSCRIBE_URL
from .base import Batch, Provider, ProviderError, Recipient, Result, UnsupportedFeature

log = logging.getLogger("newsletter.providers")
RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass
class Payload:
    """One HTTP request for some of a batch's recipients: a JSON body (encoded once) or
    form fields."""

    recipients: list[Recipient]
    json: Any = None
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.json is not None:
            self.data = json.dumps(self.json, ensure_ascii=False).encode()
            self.headers.setdefault("Content-Type", "application/json")

    def size(self) -> int:
        if isinstance(self.data, bytes):
            return len(self.data)
        if isinstance(self.data, list):
            return sum(len(str(k)) + len(str(v)) for k, v in self.data)
        return 0


class HttpProvider(Provider):
    """Subclasses set the class attributes and implement build() and parse()."""

    api_key_env: ClassVar[str]
    default_base_url: ClassVar[str]
    path: ClassVar[str]
    max_request_bytes: ClassVar[int] = 10 * 1024 * 1024

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        sender_email: str = "",
        settings: dict[str, Any] | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 60.0,
        track_opens: bool = False,
        track_clicks: bool = False,
    ) -> None:
        self.api_key = api_key
        secrets.register(api_key)
        #: off unless the editor turns them on in [tracking]
        self.track_opens = track_opens
        self.track_clicks = track_clicks
        self.check_tracking()
        self.settings = settings or {}
        self.base_url = (base_url or self.default_url()).rstrip("/")
        self.sender_email = sender_email
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries if self.idempotent else 0,
            status=retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,
            backoff_factor=backoff,
            backoff_jitter=backoff,
            backoff_max=backoff_max,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(self.auth_headers())
        self.session.headers["User-Agent"] = "newsletter (+https://pypi.org/project/newsletter)"

    # --- configuration ---------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config) -> HttpProvider:
        settings = dict(config.providers.get(cls.name, {}))
        api_key = secrets.read(cls.api_key_env)
        if not api_key:
            raise ConfigError(
                f"provider {cls.name!r} needs an API key in ${cls.api_key_env}",
                hint=f"export {cls.api_key_env}=... (never put it in a file)",
            )
        known = {"base_url", "timeout", "retries", "backoff", *cls.extra_settings()}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(
                f"[providers.{cls.name}]: unknown setting {unknown[0]!r}",
                hint="expected: " + ", ".join(sorted(known)),
            )
        return cls(
            api_key=api_key,
            base_url=settings.pop("base_url", None),
            sender_email=config.sender.email,
            settings=settings,
            timeout=float(settings.pop("timeout", 30.0)),
            retries=int(settings.pop("retries", 4)),
            backoff=float(settings.pop("backoff", 0.5)),
            track_opens=config.tracking.open_pixel,
            track_clicks=config.tracking.click_rewriting,
        )

    @classmethod
    def extra_settings(cls) -> tuple[str, ...]:
        return ()

    def default_url(self) -> str:
        """The API's address when [providers.NAME] base_url is not set."""
        return self.default_base_url

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    #: whether this provider can switch open and click tracking per message
    tracking_per_message: ClassVar[bool] = True

    def check_tracking(self) -> None:
        if (self.track_opens or self.track_clicks) and not self.tracking_per_message:
            raise UnsupportedFeature(
                f"{self.name} sets open and click tracking per domain, not per message",
                hint="turn [tracking] off here and choose tracking in the provider's dashboard",
            )

    def check(self) -> list[str]:
        problems = []
        if not self.api_key:
            problems.append(f"${self.api_key_env} is not set")
        if not self.sender_email or self.sender_email.endswith("@example.com"):
            problems.append("[sender] email is not set to your own address")
        if not self.base_url.startswith(("https://", "http://127.", "http://localhost")):
            problems.append(f"base_url {self.base_url!r} should be https")
        return problems

    def close(self) -> None:
        self.session.close()

    # --- the steps, in order -----------------------------------------------------------
    def send_batch(self, batch: Batch) -> list[Result]:
        results: list[Result] = []
        for payload in self.payloads(batch, batch.recipients):
            results.extend(self.post(batch, payload))
        return results

    def payloads(self, batch: Batch, recipients: list[Recipient]) -> list[Payload]:
        """Requests within the provider's recipient and size limits."""
        out: list[Payload] = []
        for start in range(0, len(recipients), self.max_batch):
            chunk = recipients[start : start + self.max_batch]
            payload = self.build(batch, chunk)
            if payload.size() > self.max_request_bytes and len(chunk) > 1:
                half = len(chunk) // 2
                out.extend(self.payloads(batch, chunk[:half]))
                out.extend(self.payloads(batch, chunk[half:]))
            else:
                out.append(payload)
        return out

    def post(self, batch: Batch, payload: Payload) -> list[Result]:
        url = f"{self.base_url}{self.endpoint()}"
        try:
            response = self.session.post(
                url,
                json=payload.json,
                data=payload.data,
                headers=payload.headers,
                timeout=self.timeout,
            )
        except requests.exceptions.ConnectionError as exc:
            # Connect failures were retried; nothing reached the provider.
            if isinstance(exc, requests.exceptions.ReadTimeout) or "Read timed out" in str(exc):
                return self._all(
                    payload,
                    "unknown",
                    "no answer in time: the request may "
                    "have been delivered; check the provider's activity log",
                )
            return self._all(
                payload, "failed", f"cannot reach {self.name}: {self.scrub(type(exc).__name__)}"
            )
        except requests.exceptions.Timeout:
            return self._all(
                payload,
                "unknown",
                "no answer in time: the request may have "
                "been delivered; check the provider's activity log",
            )
        except requests.exceptions.RequestException as exc:
            return self._all(payload, "failed", self.scrub(f"{type(exc).__name__}: {exc}"))
        if response.status_code in RETRY_STATUSES:
            return self._all(payload, "failed", self.describe(response) + " (after retries)")
        try:
            return self.parse(batch, payload, response)
        except ProviderError as exc:
            log.warning("%s: %s", self.name, self.scrub(str(exc)))
            return self._all(payload, "failed", self.scrub(str(exc)))

    def endpoint(self) -> str:
        return self.path

    def _all(self, payload: Payload, status: Any, error: str) -> list[Result]:
        return [Result(r.delivery_id, status, error=error) for r in payload.recipients]

    def describe(self, response: requests.Response) -> str:
        body = response.text[:300].replace("\n", " ")
        return self.scrub(f"{self.name} answered {response.status_code}: {body}")

    def scrub(self, text: str) -> str:
        """TEXT without the key, in any form (see newsletter.secrets)."""
        return secrets.scrub(text)

    # --- per provider ------------------------------------------------------------------
    def build(self, batch: Batch, recipients: list[Recipient]) -> Payload:
        raise NotImplementedError

    def parse(self, batch: Batch, payload: Payload, response: requests.Response) -> list[Result]:
        raise NotImplementedError


def html_tokens(html: str, first_name: str, unsubscribe: str) -> str:
    """The HTML with our placeholders swapped for a provider's own substitution tags."""
    return html.replace(FIRST_NAME, first_name).replace(UNSUBSCRIBE_URL, unsubscribe)
