"""The copied-text importer on a public benchmark of 181 real article pages.

Each page of ``../shared/extraction-benchmark`` (the Scrapinghub article-extraction
benchmark) is rendered in headless Chromium with JavaScript off and every request but
the page's own blocked, and its ``document.body.innerText`` taken: what a browser's
select-all copy gives. The texts are cached under ``bench/.cache/copied/``. Each is then
imported as copied text (``import_text``), and, on the same texts in the same run,
jusText and trafilatura are run on the text wrapped one line a paragraph (``<p>`` per
line). The bodies are scored with the benchmark's own scorer (``evaluate.py``).

    .venv/bin/python bench/extraction_copied.py [--bench ../shared/extraction-benchmark]
"""

from __future__ import annotations

import argparse
import gzip
import html
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache" / "copied"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def render_all(bench: Path, keys: list[str]) -> dict[str, str]:
    """Each page's innerText (JavaScript off, no request leaves the machine), cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    todo = [k for k in keys if not (CACHE / f"{k}.txt").exists()]
    if todo:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            context = browser.new_context(java_script_enabled=False)
            for n, key in enumerate(todo, 1):
                page_html = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())
                page = context.new_page()
                url = f"http://bench.invalid/{key}.html"

                page.route("**/*", _router(url, page_html))
                try:
                    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
                    text = page.evaluate("document.body ? document.body.innerText : ''")
                except Exception as exc:  # noqa: BLE001 - one bad page is reported, not fatal
                    print(f"render {key}: {exc.__class__.__name__}", file=sys.stderr)
                    text = ""
                page.close()
                (CACHE / f"{key}.txt").write_text(text, encoding="utf-8")
                print(f"\rrendered {n}/{len(todo)}", end="", file=sys.stderr)
            browser.close()
        print(file=sys.stderr)
    return {k: (CACHE / f"{k}.txt").read_text(encoding="utf-8") for k in keys}


def _router(url: str, body: bytes) -> Any:
    """Serves the page itself; every other request (images, styles, fonts) is aborted."""

    try:
        body.decode("utf-8")
        content_type = "text/html; charset=utf-8"  # what a server would say for these bytes
    except UnicodeDecodeError:
        content_type = "text/html"  # the page's own <meta charset> decides

    def route(r: Any) -> None:
        if r.request.url == url:
            r.fulfill(status=200, body=body, content_type=content_type)
        else:
            r.abort()

    return route


def as_paragraphs(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    body = "".join(f"<p>{html.escape(ln)}</p>\n" for ln in lines)
    return f"<html><body>{body}</body></html>"


def run_ours(texts: dict[str, str]) -> tuple[dict[str, str], dict[str, str], list[float]]:
    from newsletter.errors import NewsletterError
    from newsletter.importers.text import import_text

    out: dict[str, str] = {}
    refused: dict[str, str] = {}
    times: list[float] = []
    for key, text in texts.items():
        t0 = time.perf_counter()
        try:
            article = import_text(text, f"{key}.txt")
        except NewsletterError as exc:
            refused[key] = str(exc).splitlines()[0]
            out[key] = ""
            times.append(time.perf_counter() - t0)
            continue
        times.append(time.perf_counter() - t0)
        if not article.blocks:
            refused[key] = "no article text found (read as text)"
        out[key] = "\n\n".join(b.text() for b in article.blocks)
    return out, refused, times


def full_imports(texts: dict[str, str]) -> dict[str, str]:
    """Each page through ``newsletter import`` as a user runs it (the issue file written
    and checked): the one-line reason of each page that is refused, or the crash."""
    import tempfile

    from newsletter.errors import NewsletterError
    from newsletter.pipeline import import_article

    problems: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, text in texts.items():
            src = Path(tmp) / f"{key[:12]}.txt"
            src.write_text(text, encoding="utf-8")
            try:
                import_article(src, out=Path(tmp) / f"{key[:12]}.md", force=True)
            except NewsletterError as exc:
                problems[key] = "refused: " + str(exc).splitlines()[0]
            except Exception as exc:  # noqa: BLE001 - a crash is what we are counting
                problems[key] = f"CRASH {exc.__class__.__name__}: {exc}"
    return problems


def run_justext(texts: dict[str, str]) -> dict[str, str]:
    import justext

    out = {}
    stop = justext.get_stoplist("English")
    for key, text in texts.items():
        paras = justext.justext(as_paragraphs(text).encode(), stop)
        out[key] = "\n\n".join(p.text for p in paras if not p.is_boilerplate)
    return out


def run_trafilatura(texts: dict[str, str]) -> dict[str, str]:
    import trafilatura

    return {k: trafilatura.extract(as_paragraphs(t)) or "" for k, t in texts.items()}


def scorer(bench: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_evaluate", bench / "evaluate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=ROOT.parent / "shared/extraction-benchmark")
    parser.add_argument("--n-bootstrap", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated keys (for debugging)")
    parser.add_argument("--dump", type=Path, help="write each tool's bodies as JSON here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    truth = json.loads((args.bench / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)
    if args.only:
        keys = [k for k in keys if k in args.only.split(",")]
        truth = {k: truth[k] for k in keys}
    texts = render_all(args.bench, keys)
    ours, refused, times = run_ours(texts)
    results = {"newsletter (text)": ours}
    results["justext (p per line)"] = run_justext(texts)
    results["trafilatura (p per line)"] = run_trafilatura(texts)
    evaluate = scorer(args.bench)
    print(f"{'':<26} {'F1':>6} {'prec':>6} {'recall':>6}")
    for name, bodies in results.items():
        pred = {k: {"articleBody": bodies.get(k, "")} for k in keys}
        m = evaluate.evaluate(truth, pred, args.n_bootstrap)
        print(f"{name:<26} {m['f1']:6.3f} {m['precision']:6.3f} {m['recall']:6.3f}")
    ms = sorted(t * 1000 for t in times)
    print(
        f"newsletter (text): {len(keys) - len(refused)}/{len(keys)} imported; "
        f"{statistics.median(ms):.1f} ms median, {ms[-1]:.1f} ms worst per page"
    )
    for key, reason in sorted(refused.items()):
        print(f"  refused {key[:12]}: {reason}")
    problems = full_imports(texts)
    done = len(keys) - len(problems)
    print(f"newsletter import (issue file written and checked): {done}/{len(keys)}")
    for key, reason in sorted(problems.items()):
        print(f"  {key[:12]}: {reason}")
    if args.dump:
        args.dump.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
