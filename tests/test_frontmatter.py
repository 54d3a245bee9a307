"""Front matter is read safely: no alias bombs, a size cap, real dates, lenient imports."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from newsletter.errors import InputError
from newsletter.importers import import_file
from newsletter.issuefile import parse_issue

from .conftest import ARTICLES
from .helpers import one_line_error, run_cli


def _alias_bomb() -> str:
    """About 2 KB: nine levels of anchors under 'source:', each nine aliases of the one
    before (9**9 strings once expanded), and 330 aliases of the last one in 'tags:'."""
    lines = ["---", "title: Bomb", "source:", '  l0: &l0 ["lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{refs}]")
    lines.append("tags: [" + ",".join(["*l9"] * 330) + "]")
    lines += ["---", "", "Body text.", ""]
    return "\n".join(lines)


def test_alias_bomb_refused_fast_and_small(tmp_path: Path) -> None:
    text = _alias_bomb()
    assert 1000 < len(text) < 2500
    path = tmp_path / "bomb.md"
    path.write_text(text)
    for read in (lambda: parse_issue(text, path), lambda: import_file(path)):
        # Memory, not time, shows the aliases were never expanded (a busy machine may be
        # slow; an expanded bomb would need gigabytes).
        tracemalloc.start()
        with pytest.raises(InputError) as info:
            read()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 50 * 1024 * 1024
        assert "alias" in str(info.value) and "bomb.md:" in str(info.value)


def test_alias_bomb_through_the_cli(workdir: Path) -> None:
    (workdir / "bomb.md").write_text(_alias_bomb())
    one_line_error(run_cli("split", "bomb.md"), "bomb.md:", "alias")
    one_line_error(run_cli("import", "bomb.md"), "bomb.md:", "alias")
    assert not (workdir / "issues").exists()


def test_huge_front_matter_refused(workdir: Path) -> None:
    fields = "".join(f"field{i}: {'x' * 60}\n" for i in range(1500))
    (workdir / "big.md").write_text(f"---\ntitle: Big\n{fields}---\n\nBody.\n")
    one_line_error(run_cli("split", "big.md"), "big.md:1", "KB")
    one_line_error(run_cli("import", "big.md"), "big.md:1", "KB")


def test_deep_nesting_refused(workdir: Path) -> None:
    nested = "[" * 200 + "]" * 200
    (workdir / "deep.md").write_text(f"---\ntitle: Deep\ntags: {nested}\n---\n\nBody.\n")
    one_line_error(run_cli("import", "deep.md"), "deep.md:", "nested")


def test_impossible_date_is_aone_line_error(workdir: Path) -> None:
    text = "---\ntitle: Hi\nauthor: Me\ndate: 2024-13-45\n---\n\nBody text.\n"
    (workdir / "issue.md").write_text(text)
    one_line_error(run_cli("split", "issue.md"), "issue.md:4: field 'date'", "2024-13-45")
    one_line_error(run_cli("import", "issue.md", "-o", "out.md"), "issue.md:4: field 'date'")
    assert not (workdir / "out.md").exists()
    assert (workdir / "issue.md").read_text() == text


def test_dates_are_kept_as_written(tmp_path: Path) -> None:
    for value in ("2024-05-18", "2024-05-18 10:00:00", "May 18, 2024"):
        issue = parse_issue(f"---\ntitle: Hi\ndate: {value}\n---\n\nBody.\n", tmp_path / "a.md")
        assert issue.date == value


def test_jekyll_title_with_an_unquoted_colon_is_read_leniently(tmp_path: Path) -> None:
    article = import_file(ARTICLES / "jekyll-colon-title.md")
    assert article.title == "Tax season: five receipts to keep"
    assert article.tags == ["bookkeeping", "taxes"]
    notes = [n for n in article.notes if "not valid YAML" in n]
    assert len(notes) == 1 and notes[0].startswith("line 3:")


def test_unreadable_front_matter_says_what_to_quote(workdir: Path) -> None:
    (workdir / "bad.md").write_text("---\ntitle: Fine\n  : oops [\n{weird\n---\n\nBody.\n")
    one_line_error(run_cli("import", "bad.md"), "bad.md:", "quote")


def test_issue_files_stay_strict(workdir: Path) -> None:
    text = "---\ntitle: Tax season: five receipts\n---\n\nBody.\n"
    (workdir / "colon.md").write_text(text)
    one_line_error(run_cli("split", "colon.md"), "colon.md:2", "quote values")


def test_import_never_writes_an_issue_file_split_would_refuse(workdir: Path) -> None:
    paragraph = "<p>" + "A sentence of a very long page that goes on and on. " * 30 + "</p>\n"
    page = f"<html><head><title>Huge</title></head><body><article><h1>Huge</h1>{paragraph * 1700}"
    (workdir / "huge.html").write_text(page + "</article></body></html>")
    assert 2.2e6 < (workdir / "huge.html").stat().st_size < 3e6
    one_line_error(
        run_cli("import", "huge.html", "-o", "huge.md"), "huge.html", "split reads at most"
    )
    assert not (workdir / "huge.md").exists()


def test_check_errors_on_an_image_without_an_absolute_source(workdir: Path) -> None:
    assert run_cli("init", ".").exit_code == 0
    (workdir / "issues" / "img.md").write_text(
        "---\ntitle: Photos\n---\n\nA short article with a photo of the office.\n\n"
        "![The waiting room](/assets/IMG_2534.jpeg)\n"
    )
    result = run_cli("check", "issues/img.md")
    assert result.exit_code == 1
    assert "'/assets/IMG_2534.jpeg' has no absolute http(s) address" in result.output


def test_random_front_matter_is_read_or_refused_with_a_clear_error(tmp_path: Path) -> None:
    """A seeded generator throws front matter of every shape at the importer and the issue
    reader: each is read, or refused with the project's own one-line error."""
    import random

    from newsletter.errors import NewsletterError

    rng = random.Random(20261125)
    keys = ["title", "date", "tags", "url", "series", "parts", "cta", "author", "x-y", "1", ""]
    values = [
        "Plain words",
        "Part one: the start",
        "[a, b",
        "{a: 1}",
        "*alias",
        "&anchor value",
        "!!python/object:os.system ls",
        "2024-02-30",
        "2024-13-45",
        "'unclosed",
        '"a \\x00 b"',
        "- item",
        "|",
        ">",
        "%TAG ! tag:",
        "\t tabbed",
        "ü ñ 漢字 🙂",
        "http://[::1",
        "9" * 400,
        "",
    ]
    for n in range(300):
        lines = []
        for _ in range(rng.randint(0, 6)):
            indent = rng.choice(["", "", "  ", "\t"])
            lines.append(f"{indent}{rng.choice(keys)}: {rng.choice(values)}")
        text = "---\n" + "\n".join(lines) + "\n---\n\nBody text of the article.\n"
        path = tmp_path / f"fuzz{n}.md"
        path.write_text(text, encoding="utf-8")
        for reader in (import_file, lambda p, t=text: parse_issue(t, p)):
            try:
                reader(path)
            except NewsletterError as exc:
                assert "\n" not in str(exc) and str(exc).startswith(str(path)), str(exc)
