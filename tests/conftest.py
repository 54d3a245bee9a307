from __future__ import annotations

import compileall
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.config import Config

HERE = Path(__file__).resolve().parent
ARTICLES = HERE / "articles"
REPO = HERE.parent
SEED = REPO.parent / "shared" / "seed" / "working-mom-guilt.txt"

# The run starts hundreds of Python processes (pytest-xdist's workers, `newsletter` commands,
# servers): where PYTHONDONTWRITEBYTECODE is set, each one compiled the package and the tests
# from source again (about a tenth of the run's CPU). The run keeps what it compiles.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once, before pytest-xdist starts its workers
        compileall.compile_dir(REPO / "newsletter", quiet=2)


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """The secrets a test's configuration and database bring (each has its own signing key)
    are remembered for scrubbing as in a process of their own, then forgotten: a worker runs
    hundreds of tests, and one pattern of every key it ever saw was compiled again for each
    new key (a tenth of the run's CPU)."""
    from newsletter import secrets

    with secrets._lock:
        remembered = set(secrets._forms), secrets._pattern
    yield
    with secrets._lock:
        secrets._forms.clear()
        secrets._forms.update(remembered[0])
        secrets._pattern = remembered[1]


@pytest.fixture
def seed_path() -> Path:
    if not SEED.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the sample article is missing: {SEED}")
        pytest.skip(f"the sample article is not here: {SEED}")
    return SEED


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, made the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_CONFIG", raising=False)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def config(workdir: Path) -> Config:
    return Config(root=workdir)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (from $NEWSLETTER_TEST_POSTGRES)."""
    admin_url = os.environ.get("NEWSLETTER_TEST_POSTGRES")
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("NEWSLETTER_TEST_POSTGRES is not set; .ci/run starts PostgreSQL")
        pytest.skip("no PostgreSQL server (set NEWSLETTER_TEST_POSTGRES)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"nl_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from newsletter.store import db

        db.dispose_all()
        db._upgraded.clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def session_browser() -> Iterator[object]:
    """One Chromium (Debian's, through Playwright) for the whole run: starting one is the
    slow part; tests open their own context (``browser.new_context()``) on it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's database: SQLite and, where a server is available, PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsletter.db'}"
    return str(request.getfixturevalue("postgres_url"))


# --- the end of the run ------------------------------------------------------------------
# Servers the tests start (web, SMTP, IMAP, provider mocks) leave daemon threads inside C
# extensions (sqlite3, psycopg, lxml); once in a full run (1 of 4 here) the interpreter's own
# teardown crashed in one of them after every result was in and printed (exit 139 after "N
# passed"). The run's exit status is the tests' own: the process ends with it, after pytest
# and every plugin are done, without tearing the interpreter down.
_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    status = config.stash.get(_EXIT_STATUS, None)
    if status is None or os.environ.get("NEWSLETTER_TEST_NORMAL_EXIT"):
        return
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker ends as execnet ends it (its results are sent to the main
        # process, whose own exit status is the run's).
        return
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
