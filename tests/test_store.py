"""The store's schema: migrations match the models, and the main job runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine

from newsletter.cli import cli
from newsletter.store import Store
from newsletter.store.models import Base

from .helpers import outbox_pairs


def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without its Alembic migration fails here."""
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda obj, name, type_, *a: (
                    not (type_ == "table" and name == "apscheduler_jobs")
                )
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_reopening_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store(url)
    store.suppress("kept@example.com", "manual")
    store.close()
    from newsletter.store import db

    db._upgraded.clear()  # as a new process would: migrations run again
    assert [s.email_key for s in Store(url).suppressions()] == ["kept@example.com"]


def test_demo_runs_the_whole_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["demo", "news"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "news"
    pairs = outbox_pairs(folder / "outbox")
    assert len(pairs) == 21 and set(pairs.values()) == {1}
    assert {tag for _, tag in pairs} == {"calmer-mornings-part-1"}
    assert (folder / "newsletter.toml").exists() and (folder / "issues").is_dir()
    again = CliRunner().invoke(cli, ["demo", "news"])
    assert again.exit_code == 0 and "0 sent" in again.output
    assert len(outbox_pairs(folder / "outbox")) == 21, "nothing sent twice"


def test_a_store_dropped_without_close_closes_its_connections(postgres_url: str) -> None:
    """Its pooled connections are closed when it is collected: psycopg does not find them
    open (it warns then, and this suite makes every warning an error)."""
    import gc
    import weakref

    store = Store(postgres_url)
    assert store.suppressions() == []  # a connection opened, back in the pool
    engine = weakref.ref(store.engine)
    del store
    gc.collect()
    assert engine() is None
