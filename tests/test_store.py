"""The store's schema: migrations match the models, and the main job runs end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from newsletter.cli import cli
from newsletter.store import Store, db
from newsletter.store.models import Base

from .helpers import outbox_pairs


def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without its Alembic migration fails here."""
    engine = create_engine(db_url)
    with engine.begin() as conn:  # every migration, as an older version's database gets them
        cfg = db.alembic_config(db_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
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


def _schema(url: str) -> dict[str, Any]:
    """Every table's columns, keys, indexes (with a partial index's condition), unique and
    check constraints, its triggers (and PostgreSQL's trigger functions), which tables never
    give an id again (SQLite's AUTOINCREMENT), as the database reports them."""
    engine = create_engine(url)
    seen = inspect(engine)

    def options(found: dict[str, object]) -> list[tuple[str, str]]:
        return sorted((k, str(v)) for k, v in dict(found or {}).items())  # type: ignore[call-overload]

    schema = {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in seen.get_columns(table)
            ],
            "primary key": seen.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], options(f["options"]))
                for f in seen.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"], options(i["dialect_options"]))
                for i in seen.get_indexes(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in seen.get_unique_constraints(table)
            ),
            "checks": sorted((c["name"], c["sqltext"]) for c in seen.get_check_constraints(table)),
        }
        for table in seen.get_table_names()
    }
    with engine.connect() as conn:  # what the inspector does not show
        if conn.dialect.name == "sqlite":
            made = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master").all()
            schema["triggers"] = {n: " ".join(sql.split()) for t, n, sql in made if t == "trigger"}
            schema["autoincrement"] = {n for t, n, sql in made if "AUTOINCREMENT" in (sql or "")}
        else:
            schema["triggers"] = dict(
                conn.exec_driver_sql(
                    "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
                ).all()
            )
            schema["functions"] = dict(
                conn.exec_driver_sql(
                    "SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n"
                    " ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                ).all()
            )
    engine.dispose()
    return schema


def test_a_new_database_gets_the_schema_the_migrations_build(db_url: str) -> None:
    """A new database is made from the models and stamped (Alembic's cookbook): the same
    tables, columns, keys and indexes as running every migration from the first."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        cfg = db.alembic_config(db_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    migrated = _schema(db_url)
    assert len(migrated["triggers"]) >= 3, "the part counters' triggers"
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE alembic_version")
        for name in migrated.get("functions", {}):
            conn.exec_driver_sql(f"DROP FUNCTION {name}")
    engine.dispose()
    db._upgraded.clear()
    Store(db_url).close()  # a new database, as a first run opens it
    assert set(migrated) > {"deliveries", "subscribers", "alembic_version"}
    assert _schema(db_url) == migrated
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert db.current_revisions(conn) == {db.script_head()}
    engine.dispose()


def test_a_database_holding_other_tables_is_migrated(db_url: str) -> None:
    """A database shared with another application's table (no revision of ours) takes the
    migrations, and the other table is left alone."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE other_app (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO other_app (id) VALUES (7)")
    Store(db_url).close()
    with engine.connect() as conn:
        assert db.current_revisions(conn) == {db.script_head()}
        assert conn.exec_driver_sql("SELECT id FROM other_app").scalar() == 7
    engine.dispose()


def test_a_first_start_stopped_halfway_leaves_nothing_behind(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a new database is being made: no table is left, and the next start
    makes it whole."""
    from alembic import command as alembic_command

    def interrupted(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(alembic_command, "stamp", interrupted)
        with pytest.raises(KeyboardInterrupt):
            Store(db_url)
    db.dispose_all()
    engine = create_engine(db_url)
    assert inspect(engine).get_table_names() == []
    Store(db_url).close()
    assert {"deliveries", "subscribers", "part_counts"} <= set(inspect(engine).get_table_names())
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
