"""Bench: render the seed article's whole series in-process.

Reports ms per series and per part, the share spent in MJML compilation, and, as the
baseline measured in the same run, what personalising for 1,000 subscribers costs when MJML
is compiled once per part (what newsletter does) against compiling it per subscriber.

    python bench/render_series.py [--runs 200] [--article ../shared/seed/working-mom-guilt.txt]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import mjml

from newsletter.config import Config
from newsletter.pipeline import import_article, load_series
from newsletter.render import Renderer, personalize

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "working-mom-guilt.txt"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--article", type=Path, default=SEED)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    report = import_article(args.article, issues_dir=tmp, url="https://example.com/post")
    series = load_series(report.path)
    renderer = Renderer(Config(root=tmp))
    renderer.render_series(series)  # warm the template cache
    totals, mjml_times = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        parts = renderer.render_series(series)
        totals.append(time.perf_counter() - t)
        mjml_times.append(renderer.mjml_seconds)
    n = len(parts)
    med = statistics.median(totals) * 1000
    share = statistics.median(m / t for m, t in zip(mjml_times, totals, strict=True))
    print(
        f"machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {__import__('os').cpu_count()} cores"
    )
    print(f"series: {n} parts, {series.words} words, {args.runs} runs")
    print(
        f"render whole series: median {med:.2f} ms ({med / n:.2f} ms per part), "
        f"MJML compilation {share:.0%} of it "
        f"({statistics.median(mjml_times) * 1000 / n:.3f} ms per part)"
    )

    # Baseline: compile per subscriber vs once per part + placeholder substitution.
    sources = [renderer.mjml_source(series, p) for p in series.parts]
    k = args.subscribers
    t = time.perf_counter()
    for i in range(k):
        for r in parts:
            personalize(r, first_name=f"Reader {i}", unsubscribe_url=f"https://x.test/u/{i}")
    once = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(k):
        for src in sources:
            mjml.mjml2html(src.replace("%%NL_FIRST_NAME%%", f"Reader {i}"))
    per_sub = time.perf_counter() - t
    print(
        f"{k} subscribers x {n} parts: compile once + personalise {once * 1000:.0f} ms, "
        f"compile per subscriber (baseline) {per_sub * 1000:.0f} ms: "
        f"{per_sub / once:.1f}x faster"
    )


if __name__ == "__main__":
    main()
