"""Bench: what a new process (or a new page, or a test) pays before doing its job.

    python bench/startup.py [--rounds 20]

1. A new SQLite database opened: made from the models and stamped with the newest
   revision (what ``Store`` does now), against running every Alembic migration from the
   first (the baseline, what it did before), in the same rounds, interleaved.
2. A series rendered by a new ``Renderer`` (each ``send-due``, each preview change, each
   desk page): with the compiled templates kept for the process (Jinja's bytecode cache),
   against the cache emptied before each render (the baseline: every template parsed and
   compiled again), interleaved.
3. ``newsletter send-due`` on an empty project, as a process of its own: CPU (user + sys)
   and whether the HTML extractor (bs4, trafilatura) was loaded (it is not needed there).

CPU is this process's (``time.process_time``) for 1 and 2, the child's rusage for 3.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ISSUE = ROOT / "issues" / "calmer-mornings.md"


def new_database(folder: Path, i: int, migrate: bool) -> float:
    from sqlalchemy import create_engine

    from newsletter.store import Store, db

    name = f"{'migrated' if migrate else 'made'}{i}.db"
    url = f"sqlite:///{folder / name}"
    t = time.process_time()
    if migrate:  # the baseline: every migration, as a database of an older version gets them
        engine = create_engine(url)
        with engine.connect() as conn:
            db._migrate(conn, url)
        engine.dispose()
    else:
        Store(url).close()
    return time.process_time() - t


def render(folder: Path, cached: bool) -> float:
    from newsletter import templatecache
    from newsletter.config import Config
    from newsletter.pipeline import load_series
    from newsletter.render import Renderer

    series = load_series(ISSUE)
    if not cached:
        templatecache.COMPILED.clear()
    t = time.process_time()
    Renderer(Config(root=folder)).render_series(series)
    return time.process_time() - t


def send_due(folder: Path, preload: str = "") -> tuple[float, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    probe = (
        preload + "import sys, runpy; sys.argv = ['newsletter', 'send-due']\n"
        "try:\n    runpy.run_module('newsletter', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('EXTRACTOR' if {'bs4', 'trafilatura'} & set(sys.modules) else 'LEAN')"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=folder, env=env, capture_output=True, text=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, "EXTRACTOR" in out.stdout


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms (min {min(values) * 1000:.1f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="nl-startup-"))
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    new_database(folder, -1, False)  # imports, outside the figures
    new_database(folder, -2, True)
    made, migrated = [], []
    for i in range(args.rounds):
        made.append(new_database(folder, i, False))
        migrated.append(new_database(folder, i, True))
    print(f"new SQLite database, made from the models: {ms(made)}")
    print(f"                     every migration run:  {ms(migrated)}  (baseline)")
    print(
        f"                     ratio: {statistics.median(migrated) / statistics.median(made):.1f}x"
    )

    render(folder, True)
    kept, cold = [], []
    for _ in range(args.rounds):
        kept.append(render(folder, True))
        cold.append(render(folder, False))
    print(f"a new Renderer, calmer-mornings (2 parts), templates kept: {ms(kept)}")
    print(f"                                   compiled every time:   {ms(cold)}  (baseline)")
    ratio = statistics.median(cold) / statistics.median(kept)
    print(f"                                   ratio: {ratio:.1f}x")

    (folder / "project").mkdir()
    subprocess.run(
        [sys.executable, "-m", "newsletter", "init", "."],
        cwd=folder / "project",
        capture_output=True,
        check=True,
    )
    # the baseline: the same process with what it loaded before (the extractor, feeds)
    before = "import newsletter.importers.source, newsletter.feeds.poll\n"
    runs, baseline = [], []
    for _ in range(max(3, args.rounds // 4)):
        runs.append(send_due(folder / "project"))
        baseline.append(send_due(folder / "project", before))
    loaded = any(extractor for _, extractor in runs)
    print(
        f"newsletter send-due, empty project, a process: {ms([c for c, _ in runs])} of CPU; "
        f"HTML extractor loaded: {'yes' if loaded else 'no'}"
    )
    print(
        f"   with the extractor and feed reader loaded: {ms([c for c, _ in baseline])}  (baseline)"
    )
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
