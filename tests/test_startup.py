"""Start-up stays quick: listing the commands loads no library, and `status` on an
up-to-date database loads neither Alembic nor the renderer nor the HTTP stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from newsletter.store import Store

HEAVY = (
    "sqlalchemy",
    "alembic",
    "jinja2",
    "mjml",
    "rich",
    "bs4",
    "markdown_it",
    "yaml",
    "requests",
    "email_validator",
    "itsdangerous",
    "apscheduler",
    "flask",
    "werkzeug",
)

PROBE = """
import json, sys
from newsletter.cli import cli
try:
    cli(sys.argv[1:], prog_name="newsletter")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}),
      file=sys.stderr)
"""


def run(args: list[str], cwd: Path) -> tuple[str, int, set[str]]:
    """The command's output, its exit code and the top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True
    )
    probe = json.loads(proc.stderr.strip().splitlines()[-1])
    return proc.stdout, probe["code"], set(probe["modules"])


def test_help_lists_every_command_without_loading_the_library(tmp_path: Path) -> None:
    out, code, modules = run(["--help"], tmp_path)
    assert code == 0
    for command in ("import", "queue", "status", "send-due", "subscribers", "preview"):
        assert f"  {command} " in out
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_status_on_a_current_database_skips_alembic_and_the_renderer(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('database_url = "sqlite:///news.db"\n')
    Store(f"sqlite:///{tmp_path / 'news.db'}").close()  # created and migrated once
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "Nothing queued yet" in out
    assert "sqlalchemy" in modules  # it did read the database
    loaded = modules & {"alembic", "mako", "jinja2", "mjml", "bs4", "requests", "markdown_it"}
    assert not loaded, sorted(loaded)


def test_a_new_database_is_still_migrated(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text('database_url = "sqlite:///news.db"\n')
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "Nothing queued yet" in out
    assert "alembic" in modules
    out, code, modules = run(["status"], tmp_path)
    assert code == 0 and "alembic" not in modules
