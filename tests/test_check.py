"""`newsletter check`: each error and warning is raised by a crafted issue; the examples pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.check import check_issue, check_rendered
from newsletter.cli import cli
from newsletter.config import Config
from newsletter.errors import NewsletterError
from newsletter.pipeline import render_issue
from newsletter.render import RenderedPart
from newsletter.schedule import queue_issue
from newsletter.store import Store
from newsletter.store.subscribers import add_subscriber

from .conftest import REPO

CTA = "cta: {label: Book a call, url: 'https://example.com/book'}\n"
GOOD_BODY = (
    "A perfectly ordinary opening paragraph that is long enough to be a preheader "
    "for this email.\n\n## A section\n\nMore text here for the reader.\n"
)


def issue(tmp_path: Path, body: str = GOOD_BODY, front: str = CTA, name: str = "x") -> Path:
    path = tmp_path / f"{name}.md"
    path.write_text(f"---\ntitle: A Test Issue\n{front}---\n\n{body}")
    return path


def codes(path: Path, config: Config) -> dict[str, set[str]]:
    _, report = check_issue(path, config)
    return {"error": {f.code for f in report.errors}, "warning": {f.code for f in report.warnings}}


def test_examples_pass_clean(config: Config) -> None:
    for path in sorted((REPO / "issues").glob("*.md")):
        _, report = check_issue(path, config)
        assert report.findings == [], (path, report.findings)


def test_a_clean_issue_has_no_findings(tmp_path: Path, config: Config) -> None:
    assert codes(issue(tmp_path), config) == {"error": set(), "warning": set()}


@pytest.mark.parametrize(
    "body,code",
    [
        (
            "Intro paragraph that is long enough to make a good preheader text.\n\n"
            "![](https://example.com/photo.jpg)\n",
            "image-alt",
        ),
        ("A link to [our page](/about) for a relative link that cannot work.\n", "bad-link"),
        ("See [the dashboard](http://localhost:8000/x) from my machine, oops.\n", "bad-link"),
        ("See [the router](http://192.168.1.1/) that only works at home, oops.\n", "bad-link"),
        ("***\n", "empty-part"),
        (
            "Huge. "
            + ("Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do. " * 40 + "\n\n")
            * 40,
            "too-large",
        ),
    ],
)
def test_errors(tmp_path: Path, config: Config, body: str, code: str) -> None:
    front = CTA + ("series: {parts: 1}\n" if code == "too-large" else "")
    assert code in codes(issue(tmp_path, body, front), config)["error"]


def test_no_postal_address(tmp_path: Path, config: Config) -> None:
    config.sender.postal_address = ""
    assert "no-postal-address" in codes(issue(tmp_path), config)["error"]


def test_no_unsubscribe_link_and_template_error(workdir: Path, config: Config) -> None:
    comp = workdir / "templates" / "components"
    comp.mkdir(parents=True)
    (comp / "footer.mjml.j2").write_text(
        "<mj-section><mj-column><mj-text>{{ sender.postal_address }}</mj-text></mj-column>"
        "</mj-section>"
    )
    assert "no-unsubscribe" in codes(issue(workdir), config)["error"]
    (comp / "footer.mjml.j2").write_text("{% if %}broken")
    assert codes(issue(workdir), config)["error"] == {"template"}


def test_no_text_part(tmp_path: Path, config: Config) -> None:
    series, parts = render_issue(issue(tmp_path), config)
    bare = [RenderedPart(p.part, p.mjml, p.html, "") for p in parts]
    report = check_rendered(series, bare, config)
    assert "no-text-part" in {f.code for f in report.errors}


@pytest.mark.parametrize(
    "front,body,code",
    [
        (
            CTA
            + "parts: {1: {subject: 'This subject line goes on and on, well past "
            + "what any phone shows'}}\n",
            GOOD_BODY,
            "long-subject",
        ),
        (CTA + "parts: {1: {preheader: 'Too short'}}\n", GOOD_BODY, "preheader"),
        (
            CTA,
            "An opening paragraph long enough for a preheader, nothing odd here.\n\n"
            "#### A deep heading\n\nText.\n",
            "heading-levels",
        ),
        (CTA, "Word " * 200 + "\n", "long-paragraph"),
        (CTA + "parts: {1: {subject: 'FREE!!! ACT NOW'}}\n", GOOD_BODY, "spammy-subject"),
        ("", GOOD_BODY, "no-cta"),
        ("cta: {label: Call us}\n", GOOD_BODY, "cta-no-link"),
    ],
)
def test_warnings(tmp_path: Path, config: Config, front: str, body: str, code: str) -> None:
    found = codes(issue(tmp_path, body, front), config)
    assert code in found["warning"], found
    assert not found["error"]


def test_cli_json_and_exit_codes(workdir: Path) -> None:
    good = issue(workdir, name="good")
    bad = issue(
        workdir, "Go to [admin](http://localhost/admin) now, it is quite long.\n", name="bad"
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(good)])
    assert result.exit_code == 0 and "0 errors, 4 warnings" in result.output
    result = runner.invoke(cli, ["check", str(bad), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False and data["errors"][0]["code"] == "bad-link"
    assert data["errors"][0]["part"] == 1


def test_queue_refuses_errors_unless_forced(workdir: Path, config: Config) -> None:
    store = Store(config.db_url)
    add_subscriber(store, "a@example.com", list_name="r")
    bad = issue(workdir, "Go to [admin](http://localhost/admin) now, it is quite long.\n")
    with pytest.raises(NewsletterError, match="would hurt delivery"):
        queue_issue(store, config, bad, list_name="r")
    assert queue_issue(store, config, bad, list_name="r", force=True).rows == 1


# --- the go-live gate: a real provider needs a public unsubscribe address and a sender ----


def workspace(root: Path, provider: str, base_url: str | None, sender: bool) -> Path:
    """A folder as `newsletter init` makes it, then edited as an editor would."""
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    toml = root / "newsletter.toml"
    text = toml.read_text().replace('provider = "outbox"', f'provider = "{provider}"')
    if sender:
        text = (
            text.replace('name = "Your Name"', 'name = "Dr. Lena Ortiz"')
            .replace("newsletter@example.com", "lena@ortiz-practice.de")
            .replace("123 Example Street, Springfield", "Hauptstr. 5, 10115 Berlin")
        )
    if base_url:
        text = text.replace('# base_url = "https://news.example.com"', f'base_url = "{base_url}"')
    toml.write_text(text)
    (root / "subs.csv").write_text("email,first_name\nann@ortiz-readers.de,Ann\n")
    assert run(root, "subscribers", "import", str(root / "subs.csv"), "--list", "readers")[0] == 0
    return root


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(root / "newsletter.toml"), *args])
    return result.exit_code, result.output


def queued_rows(root: Path) -> int:
    from newsletter.config import load_config
    from newsletter.store import ledger

    store = Store(load_config(root / "newsletter.toml").db_url)
    try:
        return sum(sum(r.counts.values()) for r in ledger.status(store, None))
    finally:
        store.close()


@pytest.mark.parametrize(
    "base_url,sender,why",
    [
        (None, True, "http://127.0.0.1:8025' is not an https"),
        ("https://127.0.0.1:8443", True, "points at a private address"),
        ("https://192.168.1.20", True, "points at a private address"),
        ("https://localhost", True, "points at this computer"),
        ("http://news.ortiz-practice.de", True, "is not an https"),
        ("https://news.example.com", True, "is the example address"),
        ("https://news.ortiz-practice.de", False, "[sender] name is still the placeholder"),
    ],
)
def test_a_real_provider_cannot_queue_until_it_is_ready(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, base_url: str | None, sender: bool, why: str
) -> None:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "pm-test-token")
    root = workspace(workdir / "ws", "postmark", base_url, sender)
    issue = str(root / "issues" / "calmer-mornings.md")
    code, out = run(root, "queue", issue, "--list", "readers")
    assert code == 1 and why in out and "not ready to send through postmark" in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1
    assert queued_rows(root) == 0, "nothing queued"
    code, out = run(root, "check", issue)
    assert code == 1 and why in out, out
    code, out = run(root, "providers", "check")
    assert code == 1 and why in out, out


def test_a_real_provider_with_a_public_address_and_its_own_sender_queues(
    workdir: Path,
) -> None:
    root = workspace(workdir / "ws", "postmark", "https://news.ortiz-practice.de", True)
    issue = str(root / "issues" / "calmer-mornings.md")
    code, out = run(root, "check", issue)
    assert code == 0 and "0 errors" in out, out
    code, out = run(root, "queue", issue, "--list", "readers")
    assert code == 0 and "2 messages scheduled" in out and "warning" not in out, out
    assert queued_rows(root) == 2


def test_the_outbox_works_on_the_defaults_and_names_the_placeholders(workdir: Path) -> None:
    root = workspace(workdir / "ws", "outbox", None, False)
    issue = str(root / "issues" / "calmer-mornings.md")
    code, out = run(root, "queue", issue, "--list", "readers")
    assert code == 0 and "Queued" in out, out
    for name in ("name", "email", "postal_address"):
        assert f"warning: [sender] {name} is still the placeholder" in out
    assert "warning: [web] base_url 'http://127.0.0.1:8025'" in out
    code, out = run(root, "send-due")
    assert code == 0 and len(list((root / "outbox").glob("*.eml"))) == 1, out


def test_render_writes_the_unsubscribe_path_that_serve_answers(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import urlparse

    from newsletter.web.app import create_app

    monkeypatch.setenv("NEWSLETTER_SECRET", "s" * 32)
    root = workspace(workdir / "ws", "outbox", "https://news.ortiz-practice.de", True)
    code, out = run(root, "render", str(root / "issues" / "calmer-mornings.md"), "--out", "out")
    assert code == 0, out
    text = next((workdir / "out").glob("part-1.txt")).read_text()
    lines = text.splitlines()
    link = next(line.split()[-1] for line in lines if line.startswith("Unsubscribe: "))
    assert link.startswith("https://news.ortiz-practice.de/")
    client = create_app(Store(f"sqlite:///{workdir / 'web.db'}"), "Lena").test_client()
    page = client.get(urlparse(link).path)
    # the route exists (a sample token is no one's: the page says the link is not valid)
    assert page.status_code == 400 and b"not valid" in page.data.lower(), page.data[:300]


def test_a_sender_refuses_a_real_provider_that_is_not_ready(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued on the outbox, then the provider switched without the rest: nothing goes out."""
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "pm-test-token")
    root = workspace(workdir / "ws", "outbox", None, False)
    issue = str(root / "issues" / "calmer-mornings.md")
    assert run(root, "queue", issue, "--list", "readers")[0] == 0
    toml = root / "newsletter.toml"
    toml.write_text(toml.read_text().replace('provider = "outbox"', 'provider = "postmark"'))
    for command in ("send-due", "run"):
        code, out = run(root, command)
        assert code == 1 and "not ready to send through postmark" in out, out
    from newsletter.config import load_config
    from newsletter.store import ledger

    store = Store(load_config(toml).db_url)
    counts = [r.counts for r in ledger.status(store, None)]
    store.close()
    assert sum(c["sent"] + c["failed"] for c in counts) == 0 and counts[0]["scheduled"] == 1
