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
    assert result.exit_code == 0 and "0 errors, 0 warnings" in result.output
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
