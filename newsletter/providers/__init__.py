"""Email providers. A new provider is one module with a Provider subclass, listed here."""

from __future__ import annotations

from importlib import import_module

from ..config import Config
from ..errors import ConfigError
from .base import Batch, Prepared, Provider, ProviderError, Recipient, Result, UnsupportedFeature

PROVIDERS = {
    "outbox": "newsletter.providers.outbox:OutboxProvider",
    "postmark": "newsletter.providers.postmark:PostmarkProvider",
    "sendgrid": "newsletter.providers.sendgrid:SendGridProvider",
    "mailgun": "newsletter.providers.mailgun:MailgunProvider",
    "resend": "newsletter.providers.resend:ResendProvider",
    "ses": "newsletter.providers.ses:SesProvider",
    "smtp": "newsletter.providers.smtp:SmtpProvider",
}


def get_provider(config: Config, name: str | None = None) -> Provider:
    name = name or config.sending.provider
    if name not in PROVIDERS:
        raise ConfigError(
            f"unknown provider {name!r} in [sending] provider",
            hint="expected one of: " + ", ".join(sorted(PROVIDERS)),
        )
    module, _, cls_name = PROVIDERS[name].partition(":")
    cls = getattr(import_module(module), cls_name)
    provider: Provider = cls(config.outbox_path) if name == "outbox" else cls.from_config(config)
    return provider


__all__ = [
    "PROVIDERS",
    "Batch",
    "Prepared",
    "Provider",
    "ProviderError",
    "Recipient",
    "Result",
    "UnsupportedFeature",
    "get_provider",
]
