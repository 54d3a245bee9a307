"""The preview, driven by a real browser (Playwright + Debian's chromium)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import load_config
from newsletter.preview import PreviewServer

from .conftest import REPO

ARTIFACTS = REPO / "test-artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture
def browser(session_browser: Any) -> Iterator[Any]:
    """The run's one Chromium (conftest's ``session_browser``): each test opens its own
    contexts, closed after it, so nothing a test leaves (cookies, pages) reaches the next."""
    before = set(session_browser.contexts)
    yield session_browser
    for context in session_browser.contexts:
        if context not in before:
            context.close()


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path]]:
    (tmp_path / "newsletter.toml").write_text('[sender]\nname = "Dana at Calm Practice"\n')
    issue = tmp_path / "issues" / "calmer-mornings.md"
    issue.parent.mkdir()
    issue.write_text((REPO / "issues" / "calmer-mornings.md").read_text())
    server = PreviewServer(issue, load_config(tmp_path / "newsletter.toml"), port=0)
    server.start_in_thread()
    try:
        yield server, issue
    finally:
        server.stop()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page picture of what the test checked, for a person to look at, where
    $NEWSLETTER_TEST_SCREENSHOTS is set (a long page costs Chromium about 1.5 s of CPU)."""
    if not os.environ.get("NEWSLETTER_TEST_SCREENSHOTS"):
        return
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_every_part_fits_a_phone_and_shows_its_cta(browser, preview) -> None:  # type: ignore[no-untyped-def]
    server, _ = preview
    assert server.url.startswith("http://127.0.0.1:")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server.url)
    items = page.locator(".inbox-item")
    n = items.count()
    assert n == 2
    assert "Dana at Calm Practice" in items.first.inner_text()
    shot(page, "preview-series")
    phone = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=1)
    ppage = phone.new_page()
    for k in range(1, n + 1):
        items.nth(k - 1).click()
        page.wait_for_url(f"**/?part={k}*")
        assert page.locator("#part-title").inner_text().startswith(f"Part {k} of {n}")
        assert page.frame_locator("#phone").locator("text=Book a free 15-minute call").count() >= 1
        ppage.goto(f"{server.url}parts/{k}.html")
        scroll_width = ppage.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 375, f"part {k} scrolls sideways on a phone ({scroll_width}px)"
        button = ppage.get_by_role("link", name="Book a free 15-minute call").last
        button.scroll_into_view_if_needed()
        assert button.is_visible()
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
        shot(ppage, f"preview-part-{k}-phone")
    phone.close()
    context.close()


@pytest.mark.parametrize("width", [1024, 1280, 1400, 1920])
def test_both_frames_are_fully_visible_on_a_laptop(browser, preview, width: int) -> None:  # type: ignore[no-untyped-def]
    """The 375 px and 700 px frames side by side when they fit, one under the other when
    they do not: never cut off on the right (text cut mid-word)."""
    server, _ = preview
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(server.url)
    frames = page.locator(".frames").bounding_box()
    assert frames
    for selector, expected in (("#phone", 375), ("#desktop", 700)):
        box = page.locator(selector).bounding_box()
        assert box and box["width"] >= expected, (selector, box)
        right = box["x"] + box["width"]
        assert box["x"] >= frames["x"] and right <= frames["x"] + frames["width"] + 0.5, (
            f"{selector} cut off at {width} px: ends at {right}, its panel at "
            f"{frames['x'] + frames['width']}"
        )
        assert right <= width, (selector, right)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"preview-{width}px")
    context.close()


def _background(page, selector: str) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    color = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).backgroundColor")
    return tuple(int(x) for x in color[color.index("(") + 1 : color.index(")")].split(",")[:3])


def test_dark_mode_applies(browser, preview) -> None:  # type: ignore[no-untyped-def]
    server, _ = preview
    light = browser.new_context(color_scheme="light").new_page()
    light.goto(f"{server.url}parts/1.html")
    dark_ctx = browser.new_context(color_scheme="dark")
    dark = dark_ctx.new_page()
    dark.goto(f"{server.url}parts/1.html")
    assert sum(_background(light, ".nl-content")) > 600  # near white
    assert sum(_background(dark, ".nl-content")) < 200  # near black
    text_color = dark.evaluate("getComputedStyle(document.querySelector('.nl-content p')).color")
    assert text_color != "rgb(31, 41, 51)", "text is lightened in dark mode"
    shot(dark, "preview-part-1-dark")
    # The page's own dark-mode view, whatever the editor's system setting.
    page = browser.new_context(color_scheme="light").new_page()
    page.goto(f"{server.url}?part=1&dark=1")
    frame = page.frame_locator("#phone")
    frame.locator(".nl-content").first.wait_for()
    bg = page.frame(url=lambda u: "/parts/1.html" in u).evaluate(
        "getComputedStyle(document.querySelector('.nl-content')).backgroundColor"
    )
    assert bg.startswith("rgb(29, 33, 38")
    dark_ctx.close()


def test_editing_the_issue_updates_the_open_page(browser, preview) -> None:  # type: ignore[no-untyped-def]
    server, issue = preview
    page = browser.new_context().new_page()
    page.goto(f"{server.url}?part=1")
    page.locator("#live", has_text="live reload: on").wait_for()
    assert "Mornings, rewritten" not in page.content()
    issue.write_text(
        issue.read_text().replace("## Why mornings feel so hard", "## Mornings, rewritten")
    )
    # The open page updates by itself (no reload): waited for, with room for a busy machine.
    page.frame_locator("#phone").locator("text=Mornings, rewritten").wait_for(timeout=60000)
    shot(page, "preview-after-edit")

    # A broken file mid-edit: a readable error on the page, and the server keeps running.
    good = issue.read_text()
    issue.write_text(good.replace("title: Calmer", "title: [Calmer", 1))
    page.locator("#error").wait_for(timeout=60000)
    assert "front matter" in page.locator("#error").inner_text()
    shot(page, "preview-broken-file")
    issue.write_text(good)
    page.locator("#part-title").wait_for(timeout=60000)
    page.locator("#error").wait_for(state="detached", timeout=60000)


def test_stable_urls(preview) -> None:  # type: ignore[no-untyped-def]
    import requests

    server, _ = preview
    html = requests.get(f"{server.url}parts/2.html?first_name=%3Cb%3EZoe", timeout=5)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Hi &lt;b&gt;Zoe," in html.text
    text = requests.get(f"{server.url}parts/2.txt", timeout=5)
    assert text.headers["content-type"].startswith("text/plain")
    assert "Hi Alex," in text.text and "Unsubscribe:" in text.text
    assert requests.get(f"{server.url}parts/9.html", timeout=5).status_code == 404
    state = requests.get(f"{server.url}state.json", timeout=5).json()
    assert [p["index"] for p in state["parts"]] == [1, 2] and state["error"] is None


def test_config_and_template_edits_update_the_page(browser, preview) -> None:  # type: ignore[no-untyped-def]
    server, issue = preview
    root = issue.parent.parent
    page = browser.new_context().new_page()
    page.goto(f"{server.url}?part=1")
    page.locator("#live", has_text="live reload: on").wait_for()
    (root / "newsletter.toml").write_text('[sender]\nname = "Renamed Practice"\n')
    page.locator(".inbox-item >> text=Renamed Practice").first.wait_for(timeout=60000)
    page.locator("#live", has_text="live reload: on").wait_for()
    footer = root / "templates" / "components" / "footer.mjml.j2"
    footer.parent.mkdir(parents=True)
    footer.write_text(
        "<mj-section><mj-column><mj-text>A custom footer. {{ sender.postal_address }}"
        ' <a href="{{ unsubscribe_url }}">Leave</a></mj-text></mj-column>'
        "</mj-section>"
    )
    page.frame_locator("#phone").locator("text=A custom footer.").wait_for(timeout=60000)


def test_seed_parts_read_well_on_a_phone(browser, seed_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from newsletter.pipeline import import_article, render_to_dir

    (tmp_path / "newsletter.toml").write_text('[sender]\nname = "Sarah Duran"\n')
    config = load_config(tmp_path / "newsletter.toml")
    issue = import_article(seed_path, out=tmp_path / "seed.md", cta_url="https://example.com/b")
    render_to_dir(issue.path, tmp_path / "out", config)
    phone = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=1)
    page = phone.new_page()
    for k in (1, 2, 3):
        page.goto((tmp_path / "out" / f"part-{k}.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        # the long series title takes three lines at most, not the whole first screen
        title = page.locator(".nl-header h1").bounding_box()
        assert title and title["height"] <= 3 * 22 * 1.3 + 2, title

        def top(text: str) -> float:
            box = page.get_by_text(text, exact=False).first.bounding_box()
            assert box, text
            return float(box["y"])

        order = ["Hi there,"] + (["Previously:"] if k > 1 else [])
        order += ["Reach out today to schedule a consultation"]
        order += (["Next time:"] if k < 3 else []) + ["Until next time,", "Unsubscribe"]
        tops = [top(t) for t in order]
        assert tops == sorted(tops), list(zip(order, tops, strict=True))
        shot(page, f"seed-part-{k}-phone")
    phone.close()
