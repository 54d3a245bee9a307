"""SQL lives in ``newsletter/store/``: a feature asks the store, never the database; and the
store depends on no feature (read from the source, with ``ast``: nothing is imported).

What counts as SQL outside the store: SQLAlchemy's statement builders and errors (anything
of ``sqlalchemy`` but the ``Connection`` and ``Engine`` types a feature may pass along), the
tables (``newsletter.store.models``), a DB-API driver (``sqlite3``, ``psycopg``), a call of
``.execute``/``.scalar``/``.scalars``/``exec_driver_sql`` and friends, and a string that
reads as SQL ("SELECT ... FROM", "INSERT INTO", "UPDATE t SET", "DELETE FROM", "CREATE
TABLE", "PRAGMA"...; docstrings excepted).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "newsletter"
STORE = PACKAGE / "store"

#: what the store may import of the rest of the package: foundations that import no feature
FOUNDATIONS = frozenset(
    {
        "newsletter",
        "newsletter.errors",
        "newsletter.headers",
        "newsletter.secrets",
        "newsletter.textfile",
        "newsletter.timing",
    }
)

#: SQL still outside the store, by file, with why (each must still be there: a test says so
#: once it is gone, so that the exemption goes too)
PENDING: set[str] = set()  # (webhooks/base.py's replay check moved to store/webhooks.py)

#: SQLAlchemy names a feature may hold: a connection or an engine passed to the store
TYPES = frozenset({"Connection", "Engine"})
DRIVERS = ("sqlite3", "psycopg", "psycopg2")
CALLS = frozenset(
    {"execute", "executemany", "executescript", "exec_driver_sql", "scalar", "scalars"}
)
SQL_TEXT = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\S+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\b(?:CREATE|DROP|ALTER)\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\b"
    r"|\bPRAGMA\s+\w+|\bON\s+CONFLICT\b"
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names imported from it) of every import, relative ones
    resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [a.name for a in node.names]))
    return found


def modules_imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) of every module an import may load: ``from ..store import models``
    names ``newsletter.store`` and ``newsletter.store.models``."""
    return [
        (line, name)
        for line, base, names in imported(tree, module, is_package)
        for name in (base, *(f"{base}.{n}" for n in names))
    ]


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _texts(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string of the code (an f-string's fixed parts joined), docstrings left out."""
    docs = _docstrings(tree)
    inside: set[int] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            pieces = []
            for v in node.values:
                inside.add(id(v))
                pieces.append(v.value if isinstance(v, ast.Constant) else "x")
            found.append((node.lineno, "".join(str(p) for p in pieces)))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
            and id(node) not in inside
        ):
            found.append((node.lineno, node.value))
    return found


def sql_in(source: str, path: str) -> list[str]:
    """What in ``source`` (the module at ``path``, relative to the repository) is SQL."""
    tree = ast.parse(source, path)
    module = module_name(REPO / path)
    problems = []
    for line, name, names in imported(tree, module, path.endswith("__init__.py")):
        if name == "sqlalchemy" or name.startswith("sqlalchemy."):
            if not names or set(names) - TYPES:
                problems.append(f"{path}:{line}: imports {name} {', '.join(names)}".rstrip())
        elif name.split(".")[0] in DRIVERS:
            problems.append(f"{path}:{line}: imports the driver {name}")
    for line, name in modules_imported(tree, module, path.endswith("__init__.py")):
        if name == "newsletter.store.models":
            problems.append(f"{path}:{line}: imports the tables (newsletter.store.models)")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CALLS
        ):
            problems.append(f"{path}:{node.lineno}: calls .{node.func.attr}()")
    for line, text in _texts(tree):
        if SQL_TEXT.search(text):
            problems.append(f"{path}:{line}: SQL in a string: {text[:60]!r}")
    return problems


def features_imported(source: str, path: str) -> list[str]:
    """The package's modules outside the store and its foundations that ``source`` (the
    module at ``path``) imports."""
    tree = ast.parse(source, path)
    module = module_name(REPO / path)
    return [
        f"{path}:{line}: imports {name}"
        for line, name in modules_imported(tree, module, path.endswith("__init__.py"))
        if name.startswith("newsletter.")
        and not name.startswith("newsletter.store")
        and name not in FOUNDATIONS
        and name.rpartition(".")[0] not in FOUNDATIONS - {"newsletter"}  # a name of one
    ]


def features() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if STORE not in p.parents)


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_sql_outside_the_store() -> None:
    found = [
        problem
        for path in features()
        if rel(path) not in PENDING
        for problem in sql_in(path.read_text(encoding="utf-8"), rel(path))
    ]
    assert not found, "SQL belongs in newsletter/store/:\n" + "\n".join(found)


def test_every_exemption_is_still_needed() -> None:
    for name in PENDING:
        path = REPO / name
        assert path.exists() and sql_in(path.read_text(encoding="utf-8"), name), (
            f"{name} holds no SQL any more: remove it from PENDING"
        )


def test_the_store_imports_no_feature() -> None:
    modules = sorted(STORE.rglob("*.py"))
    assert len(modules) > 20
    found = [
        problem
        for path in modules
        for problem in features_imported(path.read_text(encoding="utf-8"), rel(path))
    ]
    assert not found, "the store depends on features:\n" + "\n".join(found)


def test_the_foundations_import_no_feature() -> None:
    for name in FOUNDATIONS - {"newsletter"}:
        path = name.replace(".", "/") + ".py"
        found = features_imported((REPO / path).read_text(encoding="utf-8"), path)
        assert not found, f"the store's foundation {name} depends on features: {found}"


#: the layers that reach the database (newsletter/store/__init__.py): what each may use of
#: the store
LAYERS = {
    # (busy: the one line that tells a database error, loaded once one happened)
    "direct": {"busy"},
    "db": {"direct", "models"},  # (a new database is made from the models)
    "driver": {"direct", "core"},  # (its insert-or-ignore asks the Store for its dialect)
    "core": {"db", "direct", "models", "report"},
}


def test_the_database_is_reached_in_layers() -> None:
    store_modules = {p.stem for p in STORE.glob("*.py")} - {"__init__"}
    for name, allowed in LAYERS.items():
        path = f"newsletter/store/{name}.py"
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        used = {
            module.rpartition(".")[2]
            for _, module in modules_imported(tree, f"newsletter.store.{name}", False)
            if module.startswith("newsletter.store.") and module.rpartition(".")[2] in store_modules
        }
        used -= {"states"}  # the vocabulary, for every layer (it imports nothing)
        assert used <= allowed, f"{path} uses {sorted(used - allowed)} of the store"
        if name == "direct":  # `newsletter status` reads the database without SQLAlchemy
            loaded = [
                alias.name if isinstance(node, ast.Import) else node.module or ""
                for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names
            ]
            assert not [m for m in loaded if m.startswith("sqlalchemy")], loaded


# --- the checks catch what they are for ----------------------------------------------------

OFFENDING = '''
"""Reads ``SELECT id FROM subscribers`` in its docstring: prose, not a statement."""
import sqlite3
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from ..store.models import Subscriber

def count(conn, table):
    conn.execute(select(Subscriber.id))
    n = conn.scalar(f"SELECT COUNT(*) FROM {table}")
    raw = sqlite3.connect("x.db")
    raw.executescript("PRAGMA journal_mode=WAL")
    return "DELETE FROM events WHERE id = :id", n
'''

CLEAN = '''
"""A feature as it should be: SELECT and FROM only in prose, like this docstring."""
import re
from typing import TYPE_CHECKING

from ..store import preferences as rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

def names(store, conn: "Connection", text: str) -> list[str]:
    words = re.sub(r"\\s+", " ", text)  # "select all, copy" from a browser is not SQL
    return [words, rows.email_of(store, 1), "Update your settings from the page"]
'''


def test_the_sql_check_catches_a_feature_that_talks_to_the_database() -> None:
    found = sql_in(OFFENDING, "newsletter/web/somefeature.py")
    text = "\n".join(found)
    for what in (
        ":3: imports the driver sqlite3",
        ":4: imports sqlalchemy select, update",
        ":5: imports sqlalchemy.exc IntegrityError",
        ":6: imports the tables",
        ":9: calls .execute()",
        ":10: calls .scalar()",
        ":10: SQL in a string: 'SELECT COUNT(*) FROM x'",
        ":12: calls .executescript()",
        ":12: SQL in a string: 'PRAGMA journal_mode=WAL'",
        ":13: SQL in a string: 'DELETE FROM events",
    ):
        assert what in text, f"{what!r} not caught in:\n{text}"
    assert not any(":2:" in f for f in found)  # the docstring
    assert sql_in(CLEAN, "newsletter/web/somefeature.py") == []


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from ..feeds.state import EntryState", True),
        ("from newsletter.web import site", True),
        ("from .. import pipeline", True),
        ("    from ..cli.common import out", True),
        ("from ..errors import StoreError", False),
        ("from ..timing import as_utc", False),
        ("from .. import headers", False),
        ("from .states import DeliveryState", False),
        ("from . import Store", False),
    ],
)
def test_the_store_check_catches_an_import_of_a_feature(line: str, caught: bool) -> None:
    source = f"def f():\n{line}\n" if line.startswith(" ") else line + "\n"
    assert bool(features_imported(source, "newsletter/store/example.py")) is caught
