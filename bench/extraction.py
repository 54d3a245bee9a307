"""Bench: article body extraction on a public benchmark, scored by the benchmark's own scorer.

The Scrapinghub article-extraction benchmark (181 real pages with hand-marked bodies, MIT)
sits beside the clone in ``../shared/extraction-benchmark``. Each page is imported as
``newsletter import page.html`` would (the whole import: the issue file is written and
checked), and the issue's body is read back as a reader sees it: every block's words, an
image by its caption. In the same run, trafilatura's plain ``extract()`` and readability-lxml
read the same pages. Predictions are written as ``output/NAME.json`` beside a copy of the
ground truth and scored with the benchmark's ``evaluate.py`` (imported from its folder).

    python bench/extraction.py [--bench ../shared/extraction-benchmark] [--form html]
                               [--only KEY,...] [--worst 10] [--dump DIR] [--keep]

``--form`` picks the form the pages are given in: ``html`` (the page's HTML, here) or a
form that another module adds: ``--form copied`` loads ``bench/extraction_copied.py``,
whose ``systems(bench, keys)`` returns ``{name: fn(key, html, url) -> text}`` (our importer
first); a system refuses a page by raising ``Refused("one-line reason")``.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BENCH = HERE.parents[1] / "shared" / "extraction-benchmark"

System = Callable[[str, str, str], str]
#: (CPU, wall) seconds of each ``newsletter import`` alone (the import and its self-check:
#: the issue file written and split), without the harness's file writing and reading back
IMPORT_TIMES: list[tuple[float, float]] = []


class Refused(Exception):
    """A page a system declines, with its one-line reason."""


def body_text(blocks: list) -> str:  # type: ignore[type-arg]
    """An issue body as a reader sees it: each block's words; an image by its caption."""
    from newsletter.blocks import Image

    out = []
    for b in blocks:
        text = b.caption if isinstance(b, Image) else b.text()
        if text.strip():
            out.append(text)
    return "\n\n".join(out)


def newsletter_html(key: str, html: str, url: str) -> str:
    """``newsletter import page.html``: the issue file written, then read back."""
    from newsletter.errors import NewsletterError
    from newsletter.issuefile import load_issue
    from newsletter.pipeline import import_article

    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / f"{key[:12]}.html"
        page.write_text(html, encoding="utf-8")
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            report = import_article(page, issues_dir=Path(tmp) / "issues")
        except NewsletterError as exc:
            raise Refused(str(exc).replace(str(page), "page")) from None
        IMPORT_TIMES.append((time.process_time() - start_cpu, time.perf_counter() - start))
        issue = load_issue(report.path)
    return body_text(issue.article.blocks)


#: each of our own rules in newsletter/importers/prepare.py, and how to turn it off
RULES = {
    "captions": ("_figure_caption", lambda img: ""),
    "embed-lines": ("replace_embeds", lambda root, notes: None),
    "links": ("_links", lambda root, notes: None),  # share links, permalinks, buttons
    "br-out-of-emphasis": ("_breaks_out_of_emphasis", lambda root: None),
    "article-asides": ("_article_asides", lambda root: None),
}


def without(rule: str) -> System:
    """The importer with one of its own rules turned off (``--ablation``)."""

    def run(key: str, html: str, url: str) -> str:
        from unittest import mock

        from newsletter.importers import prepare

        name, off = RULES[rule]
        with mock.patch.object(prepare, name, off):
            return newsletter_html(key, html, url)

    return run


def trafilatura_plain(key: str, html: str, url: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def readability_lxml(key: str, html: str, url: str) -> str:
    import lxml.html
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def html_systems(bench: Path, keys: list[str]) -> dict[str, System]:
    return {
        "newsletter": newsletter_html,
        "trafilatura": trafilatura_plain,
        "readability-lxml": readability_lxml,
    }


def load_form(form: str) -> Callable[[Path, list[str]], dict[str, System]] | None:
    """The systems of a form; None when its module runs the benchmark itself (its
    ``main()`` is then called with the other arguments)."""
    if form == "html":
        return html_systems
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(f"extraction_{form}")
    if not hasattr(module, "systems"):
        return None
    module.Refused = Refused  # one exception type for every form
    return module.systems  # type: ignore[no-any-return]


def version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    dist = {"readability-lxml": "readability-lxml"}.get(name, name)
    try:
        return v(dist)
    except PackageNotFoundError:
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--form", default="html", help="html, or NAME for bench/extraction_NAME.py")
    ap.add_argument("--only", default="", help="comma-separated page keys (or key prefixes)")
    ap.add_argument("--systems", default="", help="comma-separated system names to run")
    ap.add_argument("--worst", type=int, default=0, help="list our N lowest-scoring pages")
    ap.add_argument("--dump", type=Path, help="write each system's text per page here")
    ap.add_argument("--n-bootstrap", type=int, default=200)
    ap.add_argument(
        "--ablation", action="store_true", help="also run the importer without each own rule"
    )
    ap.add_argument("--keep", action="store_true", help="keep the output/ folder and say where")
    args = ap.parse_args()

    sys.path.insert(0, str(args.bench))
    import evaluate  # the benchmark's own scorer

    truth: dict[str, dict[str, str]] = json.loads((args.bench / "ground-truth.json").read_text())
    keys = sorted(truth)
    if args.only:
        wanted = args.only.split(",")
        keys = [k for k in keys if any(k.startswith(w) for w in wanted)]
    form = load_form(args.form)
    if form is None:
        sys.argv = [f"extraction_{args.form}.py", "--bench", str(args.bench)]
        importlib.import_module(f"extraction_{args.form}").main()
        return
    systems = form(args.bench, keys)
    if args.ablation:
        systems.update({f"without-{rule}": without(rule) for rule in RULES})
    if args.systems:
        systems = {n: f for n, f in systems.items() if n in args.systems.split(",")}
    pages = {k: gzip.decompress((args.bench / "html" / f"{k}.html.gz").read_bytes()) for k in keys}

    print(f"{platform.machine()}, {platform.python_version()}, form {args.form}, {len(keys)} pages")
    out_dir = Path(tempfile.mkdtemp(prefix="extraction-bench-"))
    (out_dir / "output").mkdir()
    subset = {k: truth[k] for k in keys}
    (out_dir / "ground-truth.json").write_text(json.dumps(subset))
    refusals: dict[str, list[str]] = {}
    timings: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}
    import_times: dict[str, list[tuple[float, float]]] = {}
    for name, fn in systems.items():
        prediction: dict[str, dict[str, str]] = {}
        times: list[float] = []
        cpu: list[float] = []
        refused: list[str] = []
        # warm up (modules imported, caches filled) outside the timings; the timed run
        # below reports what this page does
        with contextlib.suppress(Exception):
            fn(keys[0], pages[keys[0]].decode("utf-8", errors="replace"), "")
        IMPORT_TIMES.clear()
        for key in keys:
            html = pages[key].decode("utf-8", errors="replace")
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                text = fn(key, html, truth[key].get("url", ""))
            except Refused as exc:
                text = ""
                refused.append(f"{key[:12]}: {exc}")
            except Exception as exc:  # a crash is reported as one, never hidden
                text = ""
                refused.append(f"{key[:12]}: CRASH {type(exc).__name__}: {exc}")
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            prediction[key] = {"articleBody": text}
            if args.dump:
                (args.dump / name).mkdir(parents=True, exist_ok=True)
                (args.dump / name / f"{key[:12]}.txt").write_text(text)
        data = {"version": version(name), "output": prediction}
        (out_dir / "output" / f"{name}.json").write_text(json.dumps(data))
        refusals[name], timings[name], cpu_times[name] = refused, times, cpu
        if IMPORT_TIMES:
            import_times[name] = IMPORT_TIMES[:]

    print(
        f"{'':<18} {'version':<8} {'F1':<6} {'prec.':<6} {'recall':<6} refused  "
        "CPU ms/page: median  worst   wall ms/page: median  worst"
    )
    scores: dict[str, list[float]] = {}
    for path in sorted(
        (out_dir / "output").glob("*.json"), key=lambda p: list(systems).index(p.stem)
    ):
        prediction, ver = evaluate.load_prediction(path)
        m = evaluate.evaluate(subset, prediction, args.n_bootstrap)
        times, cpu = timings[path.stem], cpu_times[path.stem]
        print(
            f"{path.stem:<18} {ver:<8} {m['f1']:.3f}  {m['precision']:.3f}  {m['recall']:.3f}  "
            f"{len(refusals[path.stem]):>7}  {1000 * statistics.median(cpu):>19.0f}  "
            f"{1000 * max(cpu):>5.0f}  {1000 * statistics.median(times):>20.0f}  "
            f"{1000 * max(times):>5.0f}"
        )
        scores[path.stem] = [
            2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0 for tp, fp, fn in m["tp_fp_fns"]
        ]
    for name, times in import_times.items():
        print(
            f"{name}: `newsletter import` alone ({len(times)} pages): CPU ms/page median "
            f"{1000 * statistics.median(t[0] for t in times):.0f}, worst "
            f"{1000 * max(t[0] for t in times):.0f}; wall median "
            f"{1000 * statistics.median(t[1] for t in times):.0f}, worst "
            f"{1000 * max(t[1] for t in times):.0f}"
        )
    for name, refused in refusals.items():
        for line in refused:
            print(f"refused by {name}: {line}")
    first = next(iter(systems))
    if args.worst:
        order = sorted(range(len(keys)), key=lambda i: scores[first][i])[: args.worst]
        others = [n for n in systems if n != first]
        print(f"lowest F1 for {first} (against {', '.join(others)}):")
        for i in order:
            rest = " ".join(f"{scores[n][i]:.2f}" for n in others)
            print(
                f"  {keys[i][:12]} {scores[first][i]:.2f}  ({rest})  {truth[keys[i]]['url'][:70]}"
            )
    if args.keep:
        print(f"predictions and ground truth: {out_dir} (cd there and run evaluate.py)")
    else:
        for p in (out_dir / "output").glob("*.json"):
            p.unlink()
        (out_dir / "output").rmdir()
        (out_dir / "ground-truth.json").unlink()
        out_dir.rmdir()


if __name__ == "__main__":
    main()
