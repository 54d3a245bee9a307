"""The main job on the built-in defaults: a working folder, sample subscribers, the example
issue queued as a series, and what is due sent into the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import load_config
from .errors import StoreError
from .providers import get_provider
from .resources import examples_dir
from .schedule import queue_issue
from .sender import Sender, SendReport
from .store import Store
from .store.subscribers import ImportResult, import_csv
from .workspace import init_workspace

SAMPLE_SUBSCRIBERS = Path(__file__).resolve().parent / "data" / "sample-subscribers.csv"
DEMO_ISSUE = "calmer-mornings.md"


@dataclass
class DemoResult:
    folder: Path
    imported: ImportResult
    queued: bool
    report: SendReport
    outbox: Path
    eml_files: int


def run_demo(folder: Path, every: str = "1m") -> DemoResult:
    init_workspace(folder)
    config = load_config(folder / "newsletter.toml")
    store = Store(config.db_url)
    imported = import_csv(store, SAMPLE_SUBSCRIBERS, list_name="readers")
    issue = folder / "issues" / DEMO_ISSUE
    if not issue.exists():
        issue.write_text((examples_dir() / DEMO_ISSUE).read_text(encoding="utf-8"))
    try:
        queue_issue(store, config, issue, list_name="readers", start="now", every=every)
        queued = True
    except StoreError as exc:  # queued by an earlier run: send what has become due since
        if "already queued" not in exc.message:
            raise
        queued = False
    provider = get_provider(config)
    report = Sender(store, provider, config).send_due()
    provider.close()
    outbox = config.outbox_path
    return DemoResult(
        folder,
        imported,
        queued,
        report,
        outbox,
        len(list(outbox.glob("*.eml"))) if outbox.exists() else 0,
    )
