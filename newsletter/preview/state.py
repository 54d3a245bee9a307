"""What the preview shows: the series rendered from the issue file, re-rendered when the
issue, newsletter.toml or a template changes. A broken file mid-edit becomes an error to
show, never a crash; the last good render stays available."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ..check import CheckReport, check_rendered
from ..config import Config, load_config
from ..errors import NewsletterError
from ..pipeline import load_series
from ..render import RenderedPart, Renderer
from ..series import Series


@dataclass
class Snapshot:
    series: Series
    parts: list[RenderedPart]
    report: CheckReport
    config: Config


@dataclass
class PreviewState:
    issue_path: Path
    config_path: Path | None
    config: Config
    version: int = 0
    good: Snapshot | None = None
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def watched(self) -> list[Path]:
        """Files and folders whose changes re-render the preview."""
        paths = [self.issue_path.resolve()]
        if self.config_path:
            paths.append(self.config_path.resolve())
        paths.append(self.config.user_templates.resolve())
        return paths

    def refresh(self) -> None:
        with self._lock:
            try:
                config = load_config(self.config_path) if self.config_path else self.config
                series = load_series(self.issue_path, config)
                parts = Renderer(config).render_series(series)
                self.good = Snapshot(series, parts, check_rendered(series, parts, config), config)
                self.config = config
                self.error = None
            except NewsletterError as exc:
                self.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a preview shows every failure
                self.error = f"unexpected {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            self.version += 1
        with self._changed:
            self._changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=timeout)
        return self.version
