"""Re-render the preview when a watched file changes (watchdog)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .state import PreviewState

DEBOUNCE_SECONDS = 0.15


class _Handler(FileSystemEventHandler):
    def __init__(self, state: PreviewState, files: set[Path], folders: set[Path]) -> None:
        self.state = state
        self.files = files
        self.folders = folders
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def relevant(self, path: str) -> bool:
        p = Path(path).resolve()
        return p in self.files or any(f == p or f in p.parents for f in self.folders)

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if not any(p and self.relevant(p) for p in paths):
            return
        with self._lock:  # editors write in several steps: render once they are done
            if self._timer:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE_SECONDS, self.state.refresh)
            self._timer.daemon = True
            self._timer.start()


def start_watching(state: PreviewState) -> Any:
    files: set[Path] = set()
    folders: set[Path] = set()
    for path in state.watched():
        (folders if path.is_dir() or not path.suffix else files).add(path)
    handler = _Handler(state, files, folders)
    observer = Observer()
    scheduled: set[Path] = set()
    for path in files | folders:
        directory = path if path in folders else path.parent
        while not directory.exists():
            directory = directory.parent
        if directory not in scheduled:
            observer.schedule(handler, str(directory), recursive=path in folders)
            scheduled.add(directory)
    observer.daemon = True
    observer.start()
    return observer
