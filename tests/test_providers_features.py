"""What a provider is asked for and cannot give is refused, not dropped; the debug log of
requests and answers; SES's region from botocore's configuration; SMTP session faults;
the fixed verify-then-parse order of webhooks. Against the local servers of the other
provider tests (HTTP APIs, SMTP, a socket that never greets)."""

from __future__ import annotations

import base64
import logging
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from newsletter.cli import cli
from newsletter.config import Config
from newsletter.providers import UnsupportedFeature, get_provider
from newsletter.sender import Sender
from newsletter.store import Store
from newsletter.store.models import Campaign, Delivery

from .helpers import LIVE_SETTINGS
from .mock_providers import AKID, KEY, MockProvider
from .smtpserver import PASSWORD, Server, smtp_server
from .test_providers import ENV
from .test_providers import setup as provider_setup
from .test_smtp import setup as smtp_setup


@contextmanager
def mocked(name: str) -> Iterator[MockProvider]:
    """A provider's local server, stopped after the test."""
    mock = MockProvider(name)
    try:
        yield mock
    finally:
        mock.stop()


AWS_PLACES = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE")


@pytest.fixture
def no_aws_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No region from this machine: no variable, an empty AWS config file."""
    for name in AWS_PLACES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))


# --- a feature asked for is carried, or refused ------------------------------------------


@pytest.mark.parametrize("name", ["resend", "ses"])
def test_resend_and_ses_carry_the_parts_tag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, no_aws_region: None
) -> None:
    """They dropped it silently: each message now carries the part's tag (a Resend tag,
    an SES message tag), beside the batch's metadata."""
    with mocked(name) as mock:
        cfg, store, sender = provider_setup(tmp_path, mock, monkeypatch, 3)
        assert sender.send_due().sent == 4
        assert {d.meta.get("tag") for d in mock.received} == {"calmer-mornings-part-1"}
        assert {d.meta.get("campaign") for d in mock.received} == {"calmer-mornings"}


def write_config(tmp_path: Path, provider: str, extra: str = "") -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(
        LIVE_SETTINGS
        + f'[sending]\nprovider = "{provider}"\n[tracking]\nopen_pixel = true\n'
        + extra
    )
    return path


def test_tracking_where_the_provider_lacks_it_is_one_line_at_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resend sets tracking per domain: asked per message, `providers check` (like every
    command that builds the provider) says so in one line naming both, exit 1."""
    monkeypatch.setenv("RESEND_API_KEY", KEY)
    path = write_config(tmp_path, "resend")
    result = CliRunner().invoke(cli, ["--config", str(path), "providers", "check"])
    assert result.exit_code == 1, result.output
    assert "resend does not support open and click tracking" in result.output
    assert "ignore_unsupported = true" in result.output
    assert "Traceback" not in result.output and KEY not in result.output


def test_ignore_unsupported_sends_without_the_feature_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with mocked("resend") as mock:
        cfg, store, _ = provider_setup(tmp_path, mock, monkeypatch, 2)
        cfg.tracking.open_pixel = True
        with pytest.raises(UnsupportedFeature, match="resend does not support open and click"):
            get_provider(cfg)
        cfg.providers["resend"]["ignore_unsupported"] = True
        with caplog.at_level(logging.WARNING, "newsletter.providers"):
            provider = get_provider(cfg)
        assert "resend does not support open and click tracking" in caplog.text
        assert Sender(store, provider, cfg).send_due().sent == 3


def test_smtp_refuses_tracking_it_cannot_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A mail server tracks nothing: [tracking] on with smtp was silently ignored."""
    from .test_smtp import configure

    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    with smtp_server(tmp_path) as server:
        cfg = configure(tmp_path, server)
        cfg.tracking.click_rewriting = True
        with pytest.raises(UnsupportedFeature, match="smtp does not support open and click"):
            get_provider(cfg)
        cfg.smtp.ignore_unsupported = True
        with caplog.at_level(logging.WARNING, "newsletter.providers"):
            get_provider(cfg).close()
        assert "smtp does not support open and click tracking" in caplog.text


# --- [providers.NAME] debug = true ----------------------------------------------------------


@pytest.mark.parametrize("name", ["postmark", "mailgun", "ses"])
def test_debug_logs_each_request_and_answer_without_a_secret(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    no_aws_region: None,
) -> None:
    with mocked(name) as mock:
        cfg, store, _ = provider_setup(tmp_path, mock, monkeypatch, 2)
        cfg.providers[name]["debug"] = True
        with caplog.at_level(logging.INFO, "newsletter.providers.debug"):
            assert Sender(store, get_provider(cfg), cfg).send_due().sent == 3
        text = caplog.text
        assert f"{name} request: POST {mock.url}/" in text
        assert "reader1@example.com" in text  # the editor's own log: addresses shown
        assert f"{name} answer: 200" in text
        auth = {"postmark": "X-Postmark-Server-Token", "mailgun": "Authorization"}
        assert f"{auth.get(name, 'Authorization')}: ***" in text
        for secret in (KEY, base64.b64encode(f"api:{KEY}".encode()).decode()):
            assert secret not in text
        if name == "ses":
            assert "Signature=" not in text and AKID not in text.replace("***", "")


def test_debug_is_off_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with mocked("postmark") as mock:
        cfg, store, sender = provider_setup(tmp_path, mock, monkeypatch, 1)
        with caplog.at_level(logging.INFO, "newsletter.providers.debug"):
            assert sender.send_due().sent == 2
        assert "postmark request" not in caplog.text


def test_a_log_search_goes_through_fetch_and_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Reconcile's GET to Postmark's message search: through the one fetch helper, with the
    key, logged scrubbed; a next page on another host never gets the key."""
    from datetime import datetime

    from newsletter.providers.base import Asked, ProviderError

    with mocked("postmark") as mock:
        cfg, _, _ = provider_setup(tmp_path, mock, monkeypatch, 1)
        cfg.providers["postmark"]["debug"] = True
        provider = get_provider(cfg)
        with caplog.at_level(logging.INFO, "newsletter.providers.debug"):
            found = provider.evidence(Asked("nl-x-1", datetime(2026, 1, 1), {1: "a@example.com"}))
        assert found.sent == set()
        assert f"postmark request: GET {mock.url}/messages/outbound?" in caplog.text
        assert "postmark answer: 200" in caplog.text and KEY not in caplog.text
        with pytest.raises(ProviderError, match="refused to send the API key"):
            provider.get_json("http://127.0.0.2:9/messages/outbound")  # type: ignore[attr-defined]


# --- SES: the region from botocore's configuration --------------------------------------------


def ses_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: dict[str, object] | None = None
) -> tuple[str, str]:
    """(the region a request was signed for, the address SES would be reached at)."""
    from newsletter.providers.ses import SesProvider

    with mocked("ses") as mock:
        cfg, store, _ = provider_setup(tmp_path, mock, monkeypatch, 1)
        cfg.providers["ses"].update(settings or {})
        provider = get_provider(cfg)
        assert Sender(store, provider, cfg).send_due().sent == 2
        cfg.providers["ses"].pop("base_url")
        default = get_provider(cfg)
        assert isinstance(default, SesProvider)
        return mock.regions[0], default.base_url


def test_ses_region_from_aws_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_region: None
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert ses_region(tmp_path, monkeypatch) == (
        "eu-west-1",
        "https://email.eu-west-1.amazonaws.com",
    )


def test_ses_region_from_aws_default_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_region: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert ses_region(tmp_path, monkeypatch)[0] == "ap-southeast-2"


def test_ses_region_from_the_profiles_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_region: None
) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile news]\nregion = eu-central-1\n[default]\nregion = us-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[news]\naws_access_key_id = {AKID}\naws_secret_access_key = {KEY}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "news")
    assert ses_region(tmp_path, monkeypatch)[0] == "eu-central-1"


def test_ses_region_setting_wins_and_the_default_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_region: None
) -> None:
    assert ses_region(tmp_path, monkeypatch) == (
        "us-east-1",
        "https://email.us-east-1.amazonaws.com",
    )
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    (tmp_path / "2").mkdir()
    assert ses_region(tmp_path / "2", monkeypatch, {"region": "us-west-2"})[0] == "us-west-2"


def test_a_region_that_is_no_region_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_region: None
) -> None:
    from newsletter.errors import ConfigError

    monkeypatch.setenv("AWS_REGION", "evil.example.com/")
    monkeypatch.setenv(ENV["ses"], KEY)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    cfg = Config(root=tmp_path)
    cfg.sending.provider = "ses"  # type: ignore[assignment]
    with pytest.raises(ConfigError, match="is not an AWS region"):
        get_provider(cfg)


# --- SMTP: what a session that cannot be opened means ---------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with smtp_server(tmp_path) as s:
        yield s


def rows(store: Store) -> tuple[Counter[str], str]:
    """The part's rows by state, and the series' status."""
    with store.begin() as c:
        states = Counter(c.scalars(select(Delivery.state).where(Delivery.part == 1)))
        status = c.scalar(select(Campaign.status))
    return states, str(status)


def row_errors(store: Store) -> set[str]:
    with store.begin() as c:
        return {e or "" for e in c.scalars(select(Delivery.error).where(Delivery.part == 1))}


def test_smtp_connection_refused_is_transient(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing was sent: back to the queue for later, nothing failed, nothing paused."""
    cfg, store, sender = smtp_setup(tmp_path, server, monkeypatch, 3)
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        cfg.smtp.port = s.getsockname()[1]
    sender.provider = get_provider(cfg)
    report = sender.send_due()
    assert report.failed == 0 and report.sent == 0 and report.retrying == 3, report
    assert rows(store) == (Counter({"scheduled": 3}), "active")


def test_smtp_server_that_never_greets_is_transient(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, sender = smtp_setup(tmp_path, server, monkeypatch, 2, timeout=0.5)
    with socket.socket() as silent:  # connections are queued by the kernel, never answered
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        cfg.smtp.port = silent.getsockname()[1]
        sender.provider = get_provider(cfg)
        report = sender.send_due()
    assert report.failed == 0 and report.retrying == 2, report
    assert rows(store) == (Counter({"scheduled": 2}), "active")


def test_smtp_535_pauses_the_series_like_a_refused_key(
    tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, store, _ = smtp_setup(tmp_path, server, monkeypatch, 3)
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    report = Sender(store, get_provider(cfg), cfg).send_due()
    assert (report.failed, report.sent, report.unknown, report.retrying) == (0, 0, 0, 3)
    assert rows(store) == (Counter({"scheduled": 3}), "paused") and not server.handler.received
    assert all("bad credentials" in e and "535" in e for e in row_errors(store))


# --- webhooks: verify, then parse, always ------------------------------------------------------


def test_webhook_receive_is_fixed() -> None:
    from newsletter.webhooks import Inbound, Received, WebhookProvider

    with pytest.raises(TypeError, match="implement verify and parse"):

        class Reordered(WebhookProvider):
            name = "x"

            def verify(self, inbound: Inbound) -> None:
                return None

            def parse(self, inbound: Inbound) -> Received:
                return Received([])

            def receive(self, inbound: Inbound) -> Received:  # type: ignore[misc]
                return self.parse(inbound)


@pytest.mark.parametrize("name", ["postmark", "sendgrid", "mailgun", "resend", "ses"])
def test_an_unverified_request_is_never_parsed(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A body whose events are malformed, without a valid signature: refused as not the
    provider's (401/403), not read as events (which would answer 400)."""
    import json

    from newsletter.webhooks import Inbound, WebhookRejected, webhook_providers

    for variable, value in {
        "POSTMARK_WEBHOOK_AUTH": "user:pass",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE" + "A" * 88,
        "MAILGUN_WEBHOOK_SIGNING_KEY": "key-1",
        "RESEND_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"s" * 24).decode(),
        "SES_WEBHOOK_TOPIC_ARN": "arn:aws:sns:eu-west-1:1:ses",
    }.items():
        monkeypatch.setenv(variable, value)
    body = {
        "RecordType": 7,
        "event-data": "not an object",
        "signature": {"timestamp": "1", "token": "t", "signature": "s"},
        "type": ["x"],
        "Type": "Notification",
        "TopicArn": "arn:aws:sns:eu-west-1:1:other",
        "Message": "{",
        "MessageId": "m",
        "Timestamp": "2026-01-01T00:00:00Z",
    }
    hook = webhook_providers()[name]
    with pytest.raises(WebhookRejected) as refused:
        hook.receive(Inbound.of(json.dumps(body).encode(), {"Authorization": "Basic eDp5"}))
    assert refused.value.status in (401, 403), str(refused.value)
