"""The CLI on issues: init, import, split, render, and bad input without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from newsletter.cli import cli

from .conftest import ARTICLES


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((prefix + name, cmd))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, prefix + name + " "))
    return out


@pytest.mark.parametrize("name,cmd", _commands(cli), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help(name: str, cmd: click.Command) -> None:
    assert cmd.help and len(cmd.help.strip()) > 20, f"'newsletter {name}' needs help text"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"'newsletter {name} {param.opts[0]}' needs help text"


def test_init_import_split_render(seed_path: Path, workdir: Path) -> None:
    result = run("init", ".")
    assert result.exit_code == 0
    assert (workdir / "newsletter.toml").exists() and (workdir / "issues").is_dir()
    assert (workdir / "templates").is_dir()
    assert run("init", ".").exit_code == 0  # twice is fine, nothing overwritten

    result = run("import", str(seed_path), "--url", "https://example.com/blog/guilt")
    assert result.exit_code == 0, result.output
    assert "8 sections, 3 lists" in result.output
    assert "dropped page navigation: 'Next'" in result.output
    issue = next((workdir / "issues").glob("working-mom*.md"))
    again = run("import", str(seed_path))
    assert again.exit_code == 1 and "already exists" in again.output

    result = run("split", str(issue))
    assert result.exit_code == 0
    assert "3 parts" in result.output and "before the section" in result.output
    assert "Next-best break" in result.output

    result = run("render", str(issue), "--out", "out")
    assert result.exit_code == 0
    manifest = json.loads((workdir / "out" / "manifest.json").read_text())
    assert manifest["issue"] == issue.stem
    assert set(manifest["parts"][0]) == {
        "index",
        "subject",
        "preheader",
        "words",
        "html",
        "text",
        "cta_url",
    }
    for part in manifest["parts"]:
        assert (workdir / "out" / part["html"]).stat().st_size > 1000
        assert (workdir / "out" / part["text"]).read_text().strip()


def test_import_html_and_markdown(workdir: Path) -> None:
    result = run("import", str(ARTICLES / "blog-post.html"), "-o", "issues/sleep.md")
    assert result.exit_code == 0, result.output
    text = (workdir / "issues" / "sleep.md").read_text()
    assert "url: https://example.com/blog/sleep-after-loss" in text
    assert "share-buttons" in result.output
    result = run("import", str(ARTICLES / "jekyll-post.md"), "-o", "issues/hire.md")
    assert result.exit_code == 0
    assert "set aside front matter field 'layout'" in result.output
    assert run("split", "issues/hire.md").exit_code == 0


def _one_line_error(result: click.testing.Result, *needles: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_inputs_give_one_line_errors(workdir: Path) -> None:
    (workdir / "empty.txt").write_text("")
    _one_line_error(run("import", "empty.txt"), "empty.txt", "empty")
    (workdir / "photo.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    _one_line_error(run("import", "photo.md"), "photo.md", "binary")
    (workdir / "latin1.txt").write_bytes("Café au lait\n\nUn caf\xe9".encode("latin-1"))
    _one_line_error(run("import", "latin1.txt"), "latin1.txt:1", "UTF-8")
    _one_line_error(run("import", "missing.md"), "missing.md", "no such file")
    big = workdir / "huge.md"
    big.write_text(("A sentence that repeats to make a very large file. " * 20 + "\n\n") * 5200)
    assert big.stat().st_size > 5_000_000
    _one_line_error(run("import", "huge.md"), "huge.md", "MB")
    _one_line_error(run("split", "huge.md"), "huge.md", "MB")


def test_broken_front_matter(workdir: Path) -> None:
    issues = workdir / "issues"
    issues.mkdir()
    cases = {
        "unclosed.md": ("---\ntitle: Hi\n\nBody\n", ["unclosed.md:1", "never closed"]),
        "yaml.md": ("---\ntitle: Hi\ncta: [oops\n---\n\nBody\n", ["yaml.md:", "front matter"]),
        "typo.md": (
            "---\ntitel: Hi\n---\n\nBody\n",
            ["typo.md:2", "'titel'", "did you mean 'title'"],
        ),
        "subject.md": (
            "---\ntitle: Hi\nsubject: x\n---\n\nBody\n",
            ["subject.md:3", "parts:", "subject"],
        ),
        "notitle.md": ("---\nauthor: Me\n---\n\nBody\n", ["notitle.md", "'title'", "missing"]),
        "parts.md": (
            "---\ntitle: Hi\nseries:\n  parts: many\n---\n\nBody\n",
            ["parts.md:4", "series.parts", "'auto' or a whole number"],
        ),
        "cta.md": (
            "---\ntitle: Hi\ncta:\n  label: Go\n  url: www.example.com\n---\n\nBody\n",
            ["cta.md:5", "cta.url", "absolute http(s) URL"],
        ),
        "nofm.md": ("Just text\n", ["nofm.md:1", "no front matter"]),
        "nobody.md": ("---\ntitle: Hi\n---\n\n", ["nobody.md", "no article text"]),
    }
    for name, (text, needles) in cases.items():
        (issues / name).write_text(text)
        _one_line_error(run("split", f"issues/{name}"), *needles)
        assert (issues / name).read_text() == text  # nothing lost


def test_unexpected_errors_hide_the_traceback_unless_debug(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsletter.pipeline as pipeline

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "load_series", boom)
    result = CliRunner().invoke(cli, ["split", "x.md"])
    assert result.exit_code == 2 and "disk on fire" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["--debug", "split", "x.md"])
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize("name", ["studio-partnerships", "long-lists", "no-headings", "very-short"])
def test_import_markdown_in_issue_format_keeps_its_cta(workdir: Path, name: str) -> None:
    source = ARTICLES / f"{name}.md"
    result = run("import", str(source), "-o", "issues/x.md")
    assert result.exit_code == 0, result.output
    assert "set aside front matter" not in result.output  # (the outline quotes the text)
    written = (workdir / "issues" / "x.md").read_text()
    own = yaml.safe_load(source.read_text().split("---\n")[1])
    kept = yaml.safe_load(written.split("---\n")[1])
    assert kept["cta"] == own["cta"] and "source" not in kept
    checked = run("check", "issues/x.md")
    assert checked.exit_code == 0, checked.output
    assert "no CTA" not in checked.output


def test_import_markdown_keeps_series_parts_and_list_and_validates_them(workdir: Path) -> None:
    body = (ARTICLES / "no-headings.md").read_text().split("---\n", 2)[2]
    Path("post.md").write_text(
        "---\ntitle: Notes\nlayout: post\nlist: bakers\nseries:\n  parts: 2\n"
        "parts:\n  2:\n    subject: The second half\n---\n" + body
    )
    result = run("import", "post.md", "-o", "issues/notes.md")
    assert result.exit_code == 0, result.output
    kept = yaml.safe_load((workdir / "issues" / "notes.md").read_text().split("---\n")[1])
    assert kept["list"] == "bakers" and kept["series"] == {"parts": 2}
    assert kept["parts"] == {2: {"subject": "The second half"}}
    assert kept["source"] == {"layout": "post"}  # a generator's own field is set aside
    split = run("split", "issues/notes.md")
    assert "2 parts" in split.output and "The second half" in split.output

    Path("bad.md").write_text(
        "---\ntitle: Notes\ncta:\n  label: Book now\n  url: /book\n---\n" + body
    )
    result = run("import", "bad.md", "-o", "issues/bad.md")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "bad.md:5:" in result.output
    assert "cta.url" in result.output and "absolute http(s) URL" in result.output
    assert not (workdir / "issues" / "bad.md").exists()


def test_a_generators_series_taxonomy_is_set_aside_not_refused(workdir: Path) -> None:
    text = (ARTICLES / "hugo-post.md").read_text()
    Path("post.md").write_text(text.replace("draft = false", 'series = ["Money basics"]'))
    result = run("import", "post.md", "-o", "issues/pricing.md")
    assert result.exit_code == 0, result.output
    assert "set aside front matter field 'series'" in result.output
    kept = yaml.safe_load((workdir / "issues" / "pricing.md").read_text().split("---\n")[1])
    assert kept["source"] == {"series": ["Money basics"]}
    assert kept["series"] == {"parts": "auto", "minutes_per_part": 2.0}


@pytest.mark.parametrize("command", ["split", "render", "check", "preview", "queue", "import"])
def test_a_folder_given_as_the_issue_is_one_line_and_exit_1(workdir: Path, command: str) -> None:
    (workdir / "issues").mkdir()
    result = CliRunner().invoke(cli, [command, "issues"])
    assert result.exit_code == 1, result.output
    assert result.output == "Error: issues: is a folder, expected a file\n"
    assert not (workdir / "newsletter.db").exists()


def test_queue_a_sequence_for_a_list_with_nobody_on_it_yet(workdir: Path) -> None:
    assert run("init", ".").exit_code == 0
    assert run("subscribers", "add", "ann@example.com", "--list", "readers").exit_code == 0
    assert run("subscribers", "remove", "ann@example.com").exit_code == 0
    result = run("queue", "issues/calmer-mornings.md", "--list", "readers", "--mode", "sequence")
    assert result.exit_code == 0, result.output
    assert "-." not in result.output and "0 messages" not in result.output
    assert (
        "nobody on list 'readers' yet: each subscriber who joins gets part 1 when they join."
        in result.output
    )


NO_TOML = (
    "no newsletter.toml here: using ./newsletter.db; run 'newsletter init' "
    "or cd into your newsletter folder"
)


@pytest.mark.parametrize(
    "command", [["subscribers", "list"], ["status"], ["subscribers", "export"], ["feeds", "list"]]
)
def test_showing_commands_outside_a_newsletter_folder_create_nothing(
    workdir: Path, command: list[str]
) -> None:
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: no newsletter.toml here and no newsletter.db: nothing to show "
        "(run 'newsletter init' or cd into your newsletter folder)\n"
    )
    assert list(workdir.iterdir()) == []


def test_commands_outside_a_newsletter_folder_say_which_database(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = CliRunner().invoke(cli, ["subscribers", "add", "ann@example.com", "--list", "x"])
    assert added.exit_code == 0 and added.stderr == NO_TOML + "\n"
    assert added.output == "Added.\n" + NO_TOML + "\n"  # after what the command did
    # a mistake stays the one line it is
    bad = CliRunner().invoke(cli, ["subscribers", "add", "not-an-address"])
    assert bad.exit_code == 1 and bad.output.count("\n") == 1, bad.output
    assert (workdir / "newsletter.db").exists()
    shown = CliRunner().invoke(cli, ["subscribers", "list"])
    assert shown.exit_code == 0 and "ann@example.com" in shown.stdout
    assert shown.stderr == NO_TOML + "\n"
    # in a newsletter folder, or with the database named, nothing to say
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{workdir / 'other.db'}")
    assert CliRunner().invoke(cli, ["subscribers", "list"]).stderr == ""
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL")
    assert run("init", ".").exit_code == 0
    assert CliRunner().invoke(cli, ["status"]).stderr == ""


def test_the_import_outline_shows_brackets_as_written(workdir: Path) -> None:
    """A title and lines with [square brackets]: the import's report and its numbered
    outline show them as the article has them, without escape backslashes."""
    Path("notes.md").write_text(
        "# Notes [draft]\n\nA first paragraph with [square brackets] in it, long enough to be "
        "read as the body of the article by the importer.\n\n## Second [part]\n\nMore words "
        "about the [thing] that matters, so that the outline has a second row with brackets.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["import", "notes.md"])
    assert result.exit_code == 0, result.output
    assert "\\[" not in result.output
    assert "title   Notes [draft]" in result.output
    assert "heading: Second [part]" in result.output
