"""The local preview: ``newsletter preview ISSUE`` serves the series on 127.0.0.1."""

from __future__ import annotations

import threading
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from ..config import Config
from .app import create_app
from .state import PreviewState
from .watch import start_watching


class PreviewServer:
    """The preview app, its file watcher and a threaded WSGI server."""

    def __init__(
        self, issue_path: Path, config: Config, *, host: str = "127.0.0.1", port: int = 8040
    ) -> None:
        self.state = PreviewState(issue_path=issue_path, config_path=config.path, config=config)
        self.state.refresh()
        self.app = create_app(self.state)
        self.server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.observer = start_watching(self.state)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/" if isinstance(host, str) else f"http://[::1]:{port}/"

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.observer.stop()
        self.observer.join(timeout=5)


__all__ = ["PreviewServer", "PreviewState"]
