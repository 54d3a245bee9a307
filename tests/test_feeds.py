"""Feeds: a blog's RSS or Atom feed, served by a real HTTP server on 127.0.0.1, becomes
issue files, waits for the editor's approval or is queued, and is sent by send-due."""

from __future__ import annotations

import hashlib
import html
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.feeds import (
    EntryState,
    add_feed,
    check_feeds,
    poll_quietly,
    waiting_issues,
)
from newsletter.feeds.fetch import FeedError, fetch
from newsletter.feeds.poll import poll_due_feeds
from newsletter.issuefile import load_issue
from newsletter.store import Store, ledger, utcnow
from newsletter.store import feeds as records
from newsletter.store.models import Feed, FeedEntry
from newsletter.store.subscribers import add_subscriber

from .helpers import outbox_messages

# --- a blog on 127.0.0.1 -------------------------------------------------------------------


@dataclass
class Page:
    body: bytes
    content_type: str
    etag: str


@dataclass
class Blog:
    """What the server serves; ``bodies`` counts the bodies sent per path (304s are not)."""

    pages: dict[str, Page] = field(default_factory=dict)
    bodies: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    base: str = ""

    redirects: dict[str, str] = field(default_factory=dict)
    #: paths whose answer waits until the test ends (at most this many seconds): an event,
    #: not a fixed sleep that a busy machine could outlast
    slow: dict[str, float] = field(default_factory=dict)
    released: threading.Event = field(default_factory=threading.Event)

    def put(self, path: str, text: str, content_type: str) -> None:
        body = text.encode("utf-8")
        self.pages[path] = Page(body, content_type, f'"{hashlib.sha1(body).hexdigest()[:16]}"')


def _handler(blog: Blog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            # Requests come through the proxy: "GET http://calm.example/feed/ HTTP/1.1".
            path = urlsplit(self.path).path or "/"
            blog.requests[path] += 1
            if path in blog.slow:
                blog.released.wait(blog.slow[path])
            if path in blog.redirects:
                self.send_response(301)
                self.send_header("Location", blog.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = blog.pages.get(path)
            if page is None:
                body = b"<html><body><h1>Not Found</h1></body></html>"
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            modified = "Wed, 25 Nov 2026 09:00:00 GMT"
            if (page.etag and self.headers.get("If-None-Match") == page.etag) or (
                not page.etag and self.headers.get("If-Modified-Since") == modified
            ):
                self.send_response(304)
                self.end_headers()
                return
            blog.bodies[path] += 1
            self.send_response(200)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            if page.etag:
                self.send_header("ETag", page.etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def blog(monkeypatch: pytest.MonkeyPatch) -> Iterator[Blog]:
    """A blog at http://calm.example, served on 127.0.0.1 as the HTTP proxy: its links are
    public ones (newsletter check refuses links to this computer), its bytes are local."""
    state = Blog(base="http://calm.example")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    for name in ("http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()


# --- realistic feeds and pages -------------------------------------------------------------


def seed_html(seed: Path, start: int = 0, stop: int | None = None) -> str:
    """The sample article as a blog's HTML: short lines without a full stop are headings."""
    lines = [ln.strip() for ln in seed.read_text(encoding="utf-8").splitlines() if ln.strip()]
    out = []
    for ln in lines[1:][start:stop]:
        if ln.startswith("👉"):  # a blog links its calls to action (relative, as WordPress does)
            label = html.escape(ln.removeprefix("👉").strip())
            out.append(f'<p>👉 <a href="/contact/">{label}</a></p>')
        elif len(ln) < 70 and not ln.endswith((".", "?", "!", ":", "”", '"')):
            out.append(f"<h2 class='wp-block-heading'>{html.escape(ln)}</h2>")
        else:
            out.append(f"<p>{html.escape(ln)}</p>")
    return "\n".join(out)


def rfc822(dt: datetime) -> str:
    return format_datetime(dt.replace(tzinfo=UTC))


@dataclass
class Post:
    title: str
    slug: str
    published: datetime
    body: str
    categories: tuple[str, ...] = ("Motherhood", "Work &amp; Life")
    author: str = "Dr. Maya Lin"


def wordpress_rss(base: str, posts: list[Post]) -> str:
    """RSS 2.0 as WordPress writes it: full text in content:encoded, dc:creator,
    categories, comment links, a Jetpack share box and Yoast's 'appeared first on' line."""
    items = []
    for n, p in enumerate(posts, start=100):
        link = f"{base}/{p.published:%Y/%m}/{p.slug}/"
        cats = "".join(f"<category><![CDATA[{c}]]></category>" for c in p.categories)
        content = (
            '<figure class="wp-block-image size-large"><img decoding="async" width="1024" '
            f'height="683" src="/wp-content/uploads/{p.published:%Y/%m}/{p.slug}.jpg" '
            f'alt="A mother and her daughter at the kitchen table" class="wp-image-{n}" '
            f'srcset="/wp-content/uploads/{p.slug}-300x200.jpg 300w" /></figure>\n'
            f"{p.body}\n"
            '<p>If this spoke to you, read <a href="../../10/the-mental-load/">what I '
            "wrote about the mental load</a> or <a href='/contact/'>book a session</a>.</p>\n"
            '<figure class="wp-block-embed is-type-video"><div class="wp-block-embed__wrapper">'
            '<iframe title="A talk" width="500" height="281" '
            'src="https://www.youtube.com/embed/abc123?feature=oembed"></iframe></div></figure>\n'
            '<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block '
            'sd-social"><h3 class="sd-title">Share this:</h3><ul><li><a class="share-twitter" '
            'href="?share=twitter">Twitter</a></li><li><a class="share-facebook" '
            'href="?share=facebook">Facebook</a></li></ul></div></div>\n'
            f'<p>The post <a href="{link}">{html.escape(p.title)}</a> appeared first on '
            f'<a href="{base}">Calm Family Therapy</a>.</p>'
        )
        items.append(
            f"""
    <item>
      <title>{html.escape(p.title)}</title>
      <link>{link}</link>
      <comments>{link}#respond</comments>
      <dc:creator><![CDATA[{p.author}]]></dc:creator>
      <pubDate>{rfc822(p.published)}</pubDate>
      {cats}
      <guid isPermaLink="false">{base}/?p={n}</guid>
      <description><![CDATA[<p>Why the guilt follows you from the office to the school &#8230;</p>
<p>The post <a href="{link}">{html.escape(p.title)}</a> appeared first on
<a href="{base}">Calm Family Therapy</a>.</p>]]></description>
      <content:encoded><![CDATA[{content}]]></content:encoded>
      <wfw:commentRss>{link}feed/</wfw:commentRss>
      <slash:comments>3</slash:comments>
      <post-id xmlns="com-wordpress:feed-additions:1">{n}</post-id>
    </item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>Calm Family Therapy</title>
  <atom:link href="{base}/feed/" rel="self" type="application/rss+xml" />
  <link>{base}</link>
  <description>Support for parents</description>
  <lastBuildDate>{rfc822(max(p.published for p in posts))}</lastBuildDate>
  <language>en-US</language>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <sy:updateFrequency>1</sy:updateFrequency>
  <generator>https://wordpress.org/?v=6.6.2</generator>
  <image><url>{base}/wp-content/uploads/2024/01/cropped-icon-32x32.png</url>
    <title>Calm Family Therapy</title><link>{base}</link><width>32</width><height>32</height>
  </image>{"".join(reversed(items))}
</channel>
</rss>
"""


def blogger_atom(base: str, posts: list[Post]) -> str:
    """Atom as Blogger writes it with 'Allow blog feed: short': a summary, no content."""
    entries = []
    for n, p in enumerate(posts, start=4000):
        link = f"{base}/{p.published:%Y/%m}/{p.slug}.html"
        cats = "".join(
            f"<category scheme='http://www.blogger.com/atom/ns#' term='{c}'/>" for c in p.categories
        )
        entries.append(
            f"""<entry><id>tag:blogger.com,1999:blog-77.post-{n}</id>
<published>{p.published:%Y-%m-%dT%H:%M:%S}.000-00:00</published>
<updated>{p.published:%Y-%m-%dT%H:%M:%S}.000-00:00</updated>{cats}
<title type='text'>{html.escape(p.title)}</title>
<summary type='text'>Bedtime at our house used to end in tears, mine included. Here is
what changed, one small step at a time...</summary>
<link rel='replies' type='application/atom+xml' href='{base}/feeds/{n}/comments/default'
 title='Post Comments'/>
<link rel='edit' type='application/atom+xml' href='https://www.blogger.com/feeds/77/posts/default/{n}'/>
<link rel='alternate' type='text/html' href='{link}' title='{html.escape(p.title)}'/>
<author><name>{p.author}</name><uri>https://www.blogger.com/profile/1</uri>
<email>noreply@blogger.com</email></author>
<media:thumbnail xmlns:media='http://search.yahoo.com/mrss/' url='{base}/img/s72-c/x.jpg'
 height='72' width='72'/><thr:total>0</thr:total></entry>"""
        )
    return f"""<?xml version='1.0' encoding='UTF-8'?><?xml-stylesheet
href="https://www.blogger.com/styles/atom.css" type="text/css"?><feed
xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/'
xmlns:blogger='http://schemas.google.com/blogger/2008' xmlns:georss='http://www.georss.org/georss'
xmlns:gd="http://schemas.google.com/g/2005" xmlns:thr='http://purl.org/syndication/thread/1.0'>
<id>tag:blogger.com,1999:blog-77</id><updated>2026-11-25T10:00:00.000-00:00</updated>
<category term="Parenting"/><title type='text'>Calm Kids</title><subtitle type='html'></subtitle>
<link rel='http://schemas.google.com/g/2005#feed' type='application/atom+xml'
 href='{base}/feeds/posts/summary'/>
<link rel='self' type='application/atom+xml' href='{base}/feeds/posts/summary'/>
<link rel='alternate' type='text/html' href='{base}/'/><author><name>Dana</name></author>
<generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>
<openSearch:totalResults>{len(posts)}</openSearch:totalResults>
<openSearch:startIndex>1</openSearch:startIndex>
<openSearch:itemsPerPage>25</openSearch:itemsPerPage>{"".join(reversed(entries))}</feed>"""


def blogger_page(post: Post) -> str:
    """A Blogger post page: navbar, cookie notice, sidebar, share buttons, comments."""
    title = html.escape(post.title)
    return f"""<!DOCTYPE html>
<html class='v2' dir='ltr' lang='en'><head>
<meta content='width=device-width, initial-scale=1' name='viewport'/>
<title>Calm Kids: {title}</title>
<meta content='{title}' property='og:title'/>
<script type="text/javascript">(function() {{ var a = "tracking"; }})();</script>
<style>body {{ font: normal normal 15px Georgia; }}</style>
</head><body class='loading'>
<div class='navbar section' id='navbar'><div class='widget Navbar'>
<iframe src="https://www.blogger.com/navbar.g?targetBlogID=77"></iframe></div></div>
<div id='cookieChoiceInfo' class='cookie-choices-info'>This site uses cookies from Google to
deliver its services and to analyze traffic. <a href='https://policies.google.com/'>Learn
more</a> <a href='#'>Ok</a></div>
<div class='header-outer'><header><div class='titlewrapper'><h1 class='title'>
<a href='/'>Calm Kids</a></h1></div><div class='descriptionwrapper'>
<p class='description'><span>Gentle parenting, one evening at a time</span></p></div>
</header></div>
<div class='tabs-outer'><nav><ul><li><a href='/'>Home</a></li><li><a href='/p/about.html'>About
</a></li><li><a href='/p/contact.html'>Contact</a></li></ul></nav></div>
<div class='main-outer'><div class='main-inner'>
<div class='date-outer'><h2 class='date-header'><span>Wednesday, November 25, 2026</span></h2>
<div class='post hentry uncustomized-post-template' itemprop='blogPost' itemscope='itemscope'>
<h3 class='post-title entry-title' itemprop='name'>{title}</h3>
<div class='post-header'><div class='post-header-line-1'></div></div>
<div class='post-body entry-content' id='post-body-4000' itemprop='description articleBody'>
<div class="separator" style="clear: both;"><a href="../../img/b/family-large.jpg"
 style="display: block; padding: 1em 0; text-align: center;"><img alt="A family at dinner"
 border="0" width="400" data-original-height="800" src="../../img/b/family.jpg"/></a></div>
{post.body}
<p>More in <a href="/2026/10/screen-time.html">our post about screen time</a>.</p>
<div style='clear: both;'></div>
</div>
<div class='post-footer'><div class='post-share-buttons goog-inline-block'>
<a class='goog-inline-block share-button sb-email'
 href='https://www.blogger.com/share-post.g?blogID=77&postID=4000&target=email'>Email This</a>
<a class='goog-inline-block share-button sb-twitter' href='#'>Share to X</a></div>
<div class='post-footer-line post-footer-line-2'><span class='post-labels'>Labels:
<a href='/search/label/Parenting' rel='tag'>Parenting</a></span></div></div>
</div>
<div class='comments' id='comments'><h4>No comments:</h4>
<div id='comment-holder'><p class='comment-footer'>Post a Comment</p></div></div>
</div></div></div>
<aside class='sidebar'><div class='widget PopularPosts'><h2>Popular Posts</h2><ul>
<li><a href='/2026/09/naps.html'>Naps that work</a></li></ul></div></aside>
<footer><div class='widget Attribution'>Powered by <a href='https://www.blogger.com'>Blogger
</a>.</div></footer>
<script type="text/javascript" src="https://www.blogger.com/static/v1/widgets/widgets.js">
</script></body></html>"""


# --- the editor's folder -------------------------------------------------------------------

#: the blog's clock, an hour ahead of the real one: a post published at NOW + a few minutes
#: stays newer than the feed's addition however long the suite has been running
NOW = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
OLD = [
    Post("Sleep Training Myths", "sleep-training-myths", NOW - timedelta(days=20), "<p>Old.</p>"),
    Post("When Toddlers Bite", "when-toddlers-bite", NOW - timedelta(days=9), "<p>Older.</p>"),
]


@pytest.fixture
def editor(workdir: Path) -> Path:
    """A newsletter folder with one subscriber on 'readers'; the editor is notified."""
    (workdir / "newsletter.toml").write_text(
        '[sender]\nname = "Calm Family"\nemail = "news@calm.example"\n'
        'postal_address = "1 Main Street, Springfield"\n'
        '[feeds]\nnotify = "editor@calm.example"\n',
        encoding="utf-8",
    )
    store = Store(load_config(workdir / "newsletter.toml").db_url)
    add_subscriber(store, "reader@example.com", first_name="Ann", list_name="readers")
    store.close()
    return workdir


def nl(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def issue_files(folder: Path) -> list[Path]:
    return sorted((folder / "issues").glob("*.md")) if (folder / "issues").exists() else []


def new_post(seed: Path) -> Post:
    return Post(
        "Working Mom Guilt Is Real",
        "working-mom-guilt",
        NOW + timedelta(minutes=5),
        seed_html(seed),
    )


def mail_to(folder: Path, address: str) -> list[object]:
    return [m for m in outbox_messages(folder / "outbox") if address in str(m["To"])]


# --- the tests -----------------------------------------------------------------------------


def test_manual_feed_gains_a_post_imported_once_queued_only_after_approve(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml; charset=UTF-8")
    added = nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers", "--every", "1d")
    assert added.exit_code == 0, added.output
    assert "2 posts already there left out" in added.output
    assert issue_files(editor) == [], "posts older than the feed's addition are not imported"

    post = new_post(seed_path)
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, post]), "application/rss+xml")
    first = nl("feeds", "check")
    assert first.exit_code == 0, first.output
    [issue] = issue_files(editor)
    assert issue.name == "working-mom-guilt-is-real.md"
    assert "waiting for your approval" in first.output
    assert f"newsletter approve issues/{issue.name}" in first.output

    # A clean issue: the post's text, links made absolute, WordPress clutter gone.
    text = issue.read_text(encoding="utf-8")
    parsed = load_issue(issue)
    assert parsed.title == "Working Mom Guilt Is Real"
    assert parsed.author == "Dr. Maya Lin"
    assert parsed.tags == ["Motherhood", "Work & Life"]
    assert parsed.url == f"{blog.base}/{post.published:%Y/%m}/working-mom-guilt/"
    assert parsed.list_name == "readers"
    prose = next(ln for ln in seed_path.read_text(encoding="utf-8").splitlines() if len(ln) > 200)
    opening = " ".join(re.findall(r"[A-Za-z]+", prose)[:8])
    assert opening in " ".join(re.findall(r"[A-Za-z]+", text)), "the article's prose is kept"
    assert f"{blog.base}/wp-content/uploads/{post.published:%Y/%m}/working-mom-guilt.jpg" in text
    assert f"<{blog.base}/{post.published:%Y}/10/the-mental-load/>" in text
    assert f"<{blog.base}/contact/>" in text
    for clutter in ("Share this", "share=twitter", "youtube", "appeared first on", "<iframe"):
        assert clutter not in text, clutter
    headings = [ln.strip() for ln in seed_path.read_text(encoding="utf-8").splitlines()]
    second_heading = [h for h in headings if h and len(h) < 70 and h[-1].isalpha()][1]
    assert f"## {second_heading}" in text

    # The editor is told once, with the split table and the commands; subscribers get nothing.
    [note] = mail_to(editor, "editor@calm.example")
    body = note.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "Waiting for your approval: Working Mom Guilt Is Real" in str(note["Subject"])
    assert re.search(r"Part\s+Words\s+Min\s+Subject\n\s+1\s+\d+", body)
    assert f"newsletter preview issues/{issue.name}" in body
    assert f"newsletter approve issues/{issue.name}" in body
    store = store_of(editor)
    assert ledger.status(store, None) == [], "nothing queued before the editor approves"
    status = nl("status")
    assert f"issues/{issue.name}: 'Working Mom Guilt Is Real'" in status.output
    assert nl("send-due").exit_code == 0
    assert mail_to(editor, "reader@example.com") == []

    # A second poll: the server answers 304 (same ETag), no body, no second issue file.
    served = blog.bodies["/feed/"]
    again = nl("feeds", "check")
    assert again.exit_code == 0 and "not modified" in again.output
    assert blog.bodies["/feed/"] == served and blog.requests["/feed/"] == served + 1
    # Even when the feed changes (another post's comment count ...), the post is not new.
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, post]) + "\n", "application/rss+xml")
    assert "nothing new" in nl("feeds", "check").output
    assert issue_files(editor) == [issue]
    assert len(mail_to(editor, "editor@calm.example")) == 1

    # The editor edits the file, then approves: checked and queued with the feed's schedule.
    note_line = "A note from the editor: this one is for the parents who wrote to us."
    issue.write_text(text.replace("\n---\n\n", f"\n---\n\n{note_line}\n\n", 1))
    approved = nl("approve", f"issues/{issue.name}")
    assert approved.exit_code == 0, approved.output
    assert "Approved and queued 'working-mom-guilt-is-real'" in approved.output
    [row] = {(r.slug, r.list_name, r.mode) for r in ledger.status(store, None)}
    assert row == ("working-mom-guilt-is-real", "readers", "sequence")
    assert "Waiting for your approval" not in nl("status").output
    assert nl("approve", f"issues/{issue.name}").exit_code == 1, "approved once only"
    sent = nl("send-due")
    assert sent.exit_code == 0, sent.output
    [part1] = mail_to(editor, "reader@example.com")
    assert part1["X-Newsletter-Part"] == "working-mom-guilt-is-real-part-1"
    assert note_line in part1.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    store.close()


def store_of(folder: Path) -> Store:
    return Store(load_config(folder / "newsletter.toml").db_url)


def make_due(folder: Path) -> None:
    """An hour later: every feed is due for its next poll."""
    store = store_of(folder)
    with store.begin() as conn:
        conn.execute(update(Feed).values(next_poll_at=utcnow() - timedelta(seconds=1)))
    store.close()


def test_auto_summary_only_feed_fetches_the_page_and_send_due_sends_part_1(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    blog.put("/feeds/posts/summary", blogger_atom(blog.base, OLD), "application/atom+xml")
    added = nl(
        "feeds", "add", f"{blog.base}/feeds/posts/summary", "--list", "readers",
        "--approve", "auto", "--mode", "broadcast", "--every", "2d",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    post = Post(
        "Bedtime Without Battles", "bedtime", NOW + timedelta(minutes=3), seed_html(seed_path)
    )
    blog.put(
        f"/{post.published:%Y/%m}/bedtime.html", blogger_page(post), "text/html; charset=UTF-8"
    )
    blog.put("/feeds/posts/summary", blogger_atom(blog.base, [*OLD, post]), "application/atom+xml")

    # Not due yet: the feed was read when added, and is read again in an hour.
    store = store_of(editor)
    asked = blog.requests["/feeds/posts/summary"]
    assert poll_due_feeds(load_config(editor / "newsletter.toml"), store, utcnow()).feeds == []
    assert blog.requests["/feeds/posts/summary"] == asked

    make_due(editor)
    sent = nl("send-due")
    assert sent.exit_code == 0, sent.output
    assert "new post 'Bedtime Without Battles' -> issues/bedtime-without-battles.md: queued" in (
        sent.output
    )
    [issue] = issue_files(editor)
    assert blog.bodies[f"/{post.published:%Y/%m}/bedtime.html"] == 1, "the page was fetched"
    text = issue.read_text(encoding="utf-8")
    parsed = load_issue(issue)
    assert parsed.title == "Bedtime Without Battles"
    assert parsed.author == "Dr. Maya Lin" and parsed.tags == ["Motherhood", "Work & Life"]
    assert parsed.url == f"{blog.base}/{post.published:%Y/%m}/bedtime.html"
    prose = next(ln for ln in seed_path.read_text(encoding="utf-8").splitlines() if len(ln) > 200)
    opening = " ".join(re.findall(r"[A-Za-z]+", prose)[:8])
    assert opening in " ".join(re.findall(r"[A-Za-z]+", text)), "the article's prose is kept"
    assert f"{blog.base}/img/b/family.jpg" in text, "relative image made absolute"
    assert f"(<{blog.base}/2026/10/screen-time.html>)" in text, "relative link made absolute"
    clutter_words = "cookies|Popular Posts|Share to X|Email This|No comments|Powered by"
    for clutter in (*clutter_words.split("|"), "Gentle parenting", "About", "tracking", "Kids:"):
        assert clutter not in text, clutter

    # Queued and part 1 sent in the same run; the editor was not asked.
    [part1] = mail_to(editor, "reader@example.com")
    assert part1["X-Newsletter-Part"] == "bedtime-without-battles-part-1"
    assert mail_to(editor, "editor@calm.example") == []
    [row] = {(r.slug, r.mode) for r in ledger.status(store, None)}
    assert row == ("bedtime-without-battles", "broadcast")
    # The next send-due: the feed is not due, nothing imported or sent twice.
    assert nl("send-due").exit_code == 0
    assert len(issue_files(editor)) == 1 and len(mail_to(editor, "reader@example.com")) == 1
    store.close()


def test_auto_holds_an_issue_whose_checks_fail(blog: Blog, editor: Path, seed_path: Path) -> None:
    toml = editor / "newsletter.toml"
    toml.write_text(toml.read_text().replace('"1 Main Street, Springfield"', '""'))
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers", "--approve", "auto")
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "application/rss+xml")
    checked = nl("feeds", "check")
    assert checked.exit_code == 0, checked.output
    assert "held:" in checked.output and "postal address" in checked.output
    store = store_of(editor)
    assert ledger.status(store, None) == [], "nothing queued"
    status = nl("status").output
    assert "held by its checks" in status and "postal address" in status
    [note] = mail_to(editor, "editor@calm.example")
    assert str(note["Subject"]) == "Held by its checks: Working Mom Guilt Is Real"
    body = note.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert re.search(r"finds [1-9]\d* errors and \d+ warnings:\n  error[^\n]*postal address", body)
    store.close()


def test_a_post_in_two_feeds_of_one_list_is_imported_once(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    """The blog's feed and one of its category feeds, both for the readers: a new post in
    both becomes one issue (and one note to the editor), not two."""
    for path in ("/feed/", "/category/parenting/feed/"):
        blog.put(path, wordpress_rss(blog.base, OLD), "application/rss+xml")
        added = nl("feeds", "add", f"{blog.base}{path}", "--list", "readers", "--every", "1d")
        assert added.exit_code == 0, added.output
    post = new_post(seed_path)
    for path in ("/feed/", "/category/parenting/feed/"):
        blog.put(path, wordpress_rss(blog.base, [*OLD, post]), "application/rss+xml")
    checked = nl("feeds", "check")
    assert checked.exit_code == 0, checked.output
    assert [p.name for p in issue_files(editor)] == ["working-mom-guilt-is-real.md"]
    assert "the same post, imported once" in checked.output
    assert len(mail_to(editor, "editor@calm.example")) == 1
    assert "the same post" not in nl("feeds", "check").output, "said once"


def test_a_note_that_cannot_be_written_still_leaves_the_issue_waiting(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    """The outbox cannot be written (a file where its folder should be): the issue file is
    there and waits for approval, the feed check says the note was not sent, and the post
    is not imported a second time later."""
    (editor / "outbox").write_text("not a folder", encoding="utf-8")
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers").exit_code == 0
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "application/rss+xml")
    checked = nl("feeds", "check")
    assert "Traceback" not in checked.output and "unexpected" not in checked.output
    assert "the note to the editor was not sent" in checked.output, checked.output
    [issue] = issue_files(editor)
    assert f"issues/{issue.name}" in nl("status").output  # waiting for approval
    store = store_of(editor)
    with store.begin() as conn:  # long after: an import left half done would be redone
        conn.execute(FeedEntry.__table__.update().values(seen_at=datetime(2000, 1, 1)))
    store.close()
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]) + " ", "text/xml")
    assert "nothing new" in nl("feeds", "check").output
    assert issue_files(editor) == [issue]


def test_backfill_imports_the_newest_earlier_posts(blog: Blog, editor: Path) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    added = nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers", "--backfill", "1")
    assert added.exit_code == 0, added.output
    assert [p.name for p in issue_files(editor)] == ["when-toddlers-bite.md"]
    assert "1 post already there left out" in added.output


def test_bad_feeds_are_one_line_errors_and_never_stop_others_or_sending(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    # A URL that is no feed is refused when added, in one line.
    blog.put("/about/", blogger_page(OLD[0]), "text/html")
    for url, expected in (
        (f"{blog.base}/nothing.xml", "nothing.xml: HTTP 404 Not Found"),
        (f"{blog.base}/about/", "about/: not an RSS or Atom feed: an HTML page"),
    ):
        refused = CliRunner().invoke(cli, ["feeds", "add", url, "--list", "readers"])
        assert refused.exit_code == 1
        assert refused.output.count("\n") == 1 and expected in refused.output, refused.output
    # Five feeds that read well when added ...
    for name in ("gone", "html", "loop", "broken", "good"):
        blog.put(f"/{name}.xml", wordpress_rss(blog.base, OLD), "application/rss+xml")
        added = nl("feeds", "add", f"{blog.base}/{name}.xml", "--list", "readers",
                   "--approve", "auto", "--every", "1d")  # fmt: skip
        assert added.exit_code == 0, added.output
    # ... and go wrong in every way a blog can; one post is queued for sending already.
    del blog.pages["/gone.xml"]
    blog.put("/html.xml", "<html><body><p>We moved!</p></body></html>", "text/html")
    blog.put("/half.xml", wordpress_rss(blog.base, OLD)[:900], "application/rss+xml")
    blog.redirects.update({"/loop.xml": "/loop2", "/loop2": "/loop.xml"})
    no_link = (
        "<item><title>Draft</title><guid isPermaLink='false'>draft-1</guid>"
        "<pubDate>" + rfc822(NOW + timedelta(minutes=1)) + "</pubDate></item>"
    )
    blog.put("/broken.xml", wordpress_rss(blog.base, OLD).replace("<item>", no_link + "<item>", 1),
             "application/rss+xml")  # fmt: skip
    blog.put("/good.xml", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]),
             "application/rss+xml")  # fmt: skip

    checked = CliRunner().invoke(cli, ["feeds", "check"])
    assert checked.exit_code == 1
    errors = [ln for ln in checked.stderr.splitlines() if ln]
    assert len(errors) == 4, errors
    assert "gone.xml: HTTP 404 Not Found" in errors[0]
    assert "html.xml: not an RSS or Atom feed: an HTML page" in errors[1]
    assert "loop.xml: more than 5 redirects (a redirect loop?)" in errors[2]
    assert "broken.xml: entry 'Draft' has no link and no content" in errors[3]
    assert "Traceback" not in checked.output
    assert "good.xml: new post 'Working Mom Guilt Is Real'" in checked.stdout
    assert [p.name for p in issue_files(editor)] == ["working-mom-guilt-is-real.md"]
    listed = nl("feeds", "list").output
    assert "HTTP 404 Not Found" in listed and "redirect loop" in listed

    # send-due polls the due feeds, says what went wrong, and sends anyway.
    make_due(editor)
    sent = nl("send-due")
    assert sent.exit_code == 0, sent.output
    assert "error:" in sent.output and "gone.xml: HTTP 404" in sent.output
    assert "broken.xml" not in sent.output, "a bad entry is reported once"
    [part1] = mail_to(editor, "reader@example.com")
    assert part1["X-Newsletter-Part"] == "working-mom-guilt-is-real-part-1"
    assert len(issue_files(editor)) == 1


def test_feeds_list_and_remove(blog: Blog, editor: Path) -> None:
    assert "No feeds yet" in nl("feeds", "list").output
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers").exit_code == 0
    one = nl("feeds", "check", f"{blog.base}/feed/")
    assert one.output == f"{blog.base}/feed/: not modified since the last poll, nothing new.\n"
    again = CliRunner().invoke(cli, ["feeds", "add", f"{blog.base}/feed/", "--list", "readers"])
    assert again.exit_code == 1 and "already added" in again.output
    unknown = CliRunner().invoke(cli, ["feeds", "add", f"{blog.base}/x", "--list", "redaers"])
    assert unknown.exit_code == 1 and "unknown list 'redaers'" in unknown.output
    listed = nl("feeds", "list").output
    assert "Calm Family Therapy" in listed and "sequence, every 3d" in listed
    assert "manual" in listed
    removed = nl("feeds", "remove", "1")
    assert removed.exit_code == 0 and f"Removed feed 1: {blog.base}/feed/" in removed.output
    assert "No feeds yet" in nl("feeds", "list").output


def test_a_second_poller_does_not_import_an_entry_twice(
    blog: Blog, editor: Path, seed_path: Path, db_url: str
) -> None:
    """Two `send-due` from cron at once: each entry is claimed in the database once."""
    config = load_config(editor / "newsletter.toml")
    config.database_url = db_url
    store = Store(config.db_url)
    add_subscriber(store, "reader@example.com", list_name="readers")
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    add_feed(config, store, f"{blog.base}/feed/", list_name="readers")
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "application/rss+xml")
    later = utcnow() + timedelta(hours=2)
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(poll_due_feeds(config, store, later)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.issues) for r in reports) == 1
    assert len(issue_files(editor)) == 1
    assert [w.title for w in waiting_issues(store)] == ["Working Mom Guilt Is Real"]
    store.close()


def test_fetch_without_etag_uses_last_modified_and_caps_the_size(blog: Blog) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    blog.pages["/feed/"].etag = ""  # a server that only sends Last-Modified
    first = fetch(f"{blog.base}/feed/")
    assert first.body and first.etag is None and first.last_modified
    second = fetch(f"{blog.base}/feed/", last_modified=first.last_modified)
    assert second.not_modified and blog.bodies["/feed/"] == 1
    too_big = r"^http://calm.example/feed/: 5\d+ bytes, more than 1000 allowed$"
    with pytest.raises(FeedError, match=too_big):
        fetch(f"{blog.base}/feed/", limit=1000)


def test_run_polls_due_feeds_in_the_background_and_logs_errors(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    """What `newsletter run`'s feeds job does at each tick: says what is new and what went
    wrong, and polls a feed again only when it is due."""
    config = load_config(editor / "newsletter.toml")
    store = Store(config.db_url)
    for name in ("good", "gone"):
        blog.put(f"/{name}.xml", wordpress_rss(blog.base, OLD), "application/rss+xml")
        add_feed(config, store, f"{blog.base}/{name}.xml", list_name="readers")
    del blog.pages["/gone.xml"]
    blog.put("/good.xml", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "text/xml")
    make_due(editor)
    said: list[str] = []
    for _tick in range(3):
        poll_quietly(config, store, said.append)
    assert said[0].startswith(f"{blog.base}/good.xml: new post 'Working Mom Guilt Is Real'")
    assert said[1] == f"error: {blog.base}/gone.xml: HTTP 404 Not Found"
    assert len(said) == 2, "polled once: the feeds are not due again for an hour"
    store.close()


def test_an_import_left_by_a_dead_poll_is_taken_up_again(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    config = load_config(editor / "newsletter.toml")
    store = Store(config.db_url)
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    feed, _ = add_feed(config, store, f"{blog.base}/feed/", list_name="readers")
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "application/rss+xml")
    # a poll claimed the new post five minutes ago and died before writing its issue file
    now = utcnow()
    key = f"{blog.base}/?p=102"
    claimed = dict(key=key, link="", title="x", published=None, state=EntryState.IMPORTING)
    assert records.claim_entry(store, feed.id, now=now - timedelta(minutes=5), **claimed)
    assert check_feeds(config, store, now=now).issues == [], "maybe still importing: left alone"
    assert check_feeds(config, store, now=now + timedelta(minutes=20)).issues[0].title == (
        "Working Mom Guilt Is Real"
    )
    assert len(issue_files(editor)) == 1
    store.close()


def test_a_page_that_fails_is_tried_again_at_the_next_poll(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    blog.put("/feeds/posts/summary", blogger_atom(blog.base, OLD), "application/atom+xml")
    assert (
        nl("feeds", "add", f"{blog.base}/feeds/posts/summary", "--list", "readers").exit_code == 0
    )
    post = Post("Bedtime", "bedtime", NOW + timedelta(minutes=3), seed_html(seed_path))
    blog.put("/feeds/posts/summary", blogger_atom(blog.base, [*OLD, post]), "application/atom+xml")
    first = CliRunner().invoke(cli, ["feeds", "check"])
    assert first.exit_code == 1
    assert first.stderr == (
        f"error: {blog.base}/{post.published:%Y/%m}/bedtime.html: the server answered "
        "404 Not Found (tried again at the next poll)\n"
    )
    assert issue_files(editor) == []
    blog.put(f"/{post.published:%Y/%m}/bedtime.html", blogger_page(post), "text/html")
    second = nl("feeds", "check")  # the feed has not changed: fetched whole all the same
    assert second.exit_code == 0 and "new post 'Bedtime'" in second.output
    assert [p.name for p in issue_files(editor)] == ["bedtime.md"]


def test_an_issue_file_that_cannot_be_written_is_one_line_and_tried_again(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers").exit_code == 0
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, new_post(seed_path)]), "application/rss+xml")
    (editor / "issues").write_text("not a folder")
    failed = CliRunner().invoke(cli, ["feeds", "check"])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert failed.stderr.startswith("error: ") and failed.stderr.count("\n") == 1
    assert "issues/working-mom-guilt-is-real.md: cannot write the issue file" in failed.stderr
    (editor / "issues").unlink()
    assert "new post 'Working Mom Guilt Is Real'" in nl("feeds", "check").output
    assert len(issue_files(editor)) == 1


def test_a_hostile_title_is_escaped_in_the_note_and_kept_whole_in_the_issue(
    blog: Blog, editor: Path, seed_path: Path
) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers").exit_code == 0
    hostile = Post(
        'Tantrums & "Tears" <script>alert(1)</script>\r\nBcc: victim@evil.example',
        "tantrums",
        NOW + timedelta(minutes=2),
        seed_html(seed_path),
    )
    blog.put("/feed/", wordpress_rss(blog.base, [*OLD, hostile]), "application/rss+xml")
    assert nl("feeds", "check").exit_code == 0
    [issue] = issue_files(editor)
    # the script is markup, not title text; the line break is a space, not a header
    assert load_issue(issue).title == 'Tantrums & "Tears" Bcc: victim@evil.example'
    [note] = mail_to(editor, "editor@calm.example")
    assert note["Bcc"] is None and "victim" not in str(note["To"])
    html_part = note.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    assert "<script" not in html_part and "&quot;Tears&quot;" in html_part
    text = note.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "newsletter check finds 0 errors and" in text


def test_a_feed_that_does_not_answer_in_time_is_one_line(
    blog: Blog, editor: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blog.put("/feed/", wordpress_rss(blog.base, OLD), "application/rss+xml")
    assert nl("feeds", "add", f"{blog.base}/feed/", "--list", "readers").exit_code == 0
    with (editor / "newsletter.toml").open("a", encoding="utf-8") as f:
        f.write("[fetch]\ntimeout = 0.2\n")
    blog.slow["/feed/"] = 120.0
    slow = CliRunner().invoke(cli, ["feeds", "check"])
    assert slow.exit_code == 1
    assert slow.stderr == f"error: {blog.base}/feed/: no answer within 0.2 seconds\n"
