"""One vocabulary: no state or status written as a bare string outside store/states.py.

The checker reads every module of ``newsletter/`` with :mod:`ast` and reports a string
constant whose value is one of the vocabulary's (every value of every enum in
:data:`newsletter.store.states.VOCABULARY`) where it stands for a status:

- compared (``==``, ``!=``, ``in``, ``not in``) with something named like a status
  (``status``, ``state``, ``reason``, ``kind``, ``approve``, ... or ``Campaign.status``);
- given to ``.in_()`` / ``.not_in()`` (a query over a status column);
- passed as a keyword named like a status (``status=``, ``state=``, ``reason=``, ``kind=``
  ...), as a dictionary's value under such a key, assigned to such a name (also through a
  column's ``default=``), or as such a parameter's default;
- passed to a function that takes one (``set_status``, ``event``, ``suppress``,
  ``resolve_unknown``, ``events_since``), directly or through a caller of it
  (``patient(ledger.set_status, slug, "paused")``).

Other strings are left alone, however they are spelled: command names, URL paths
(``/unsubscribe``), messages, CSS classes, headers (``List-Unsubscribe``). A provider's own
words, which happen to equal ours, are listed in :data:`FOREIGN` with where they are.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from newsletter.store.states import VOCABULARY

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "newsletter"
STATES = PACKAGE / "store" / "states.py"

VALUES = frozenset(str(m.value) for enum in VOCABULARY for m in enum)
#: names that hold a status (a variable, an attribute, a keyword, a dictionary's key)
KEYS = frozenset(
    {"status", "state", "reason", "kind", "approve", "as_state", "batch_state", "outcome"}
)
#: functions whose positional arguments include a status or an event's kind
CALLS = frozenset({"set_status", "event", "suppress", "resolve_unknown", "events_since"})
#: the keywords by which a column gets its default
DEFAULTS = frozenset({"default", "server_default"})
#: words of a provider or library that equal one of ours, per module: not our statuses
FOREIGN = {
    # Mailgun's event names ("failed", with a severity, is a bounce)
    "newsletter/webhooks/mailgun.py": {"failed", "complained", "unsubscribed"},
    # SendGrid's event names
    "newsletter/webhooks/sendgrid.py": {"bounce", "dropped"},
    # newsletter.fetch's FetchError.kind ("refused": an unsafe address), not a delivery's
    "newsletter/fetch.py": {"error", "refused"},
    "newsletter/importers/fetch.py": {"refused"},
    # what a reader's page shows for a link that is not valid (the template's own state)
    "newsletter/web/preferences.py": {"invalid"},
    "newsletter/web/subscribe.py": {"invalid"},
    "newsletter/web/unsubscribe.py": {"invalid"},
}


def _name(node: ast.AST) -> str | None:
    """The name an expression goes by: ``x``, ``a.b.x``, ``a["x"]``, ``a.get("x")``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.args[0].value)
    return None


def _strings(node: ast.AST | None) -> Iterator[ast.Constant]:
    """The string constants an expression is made of (a collection's items, both sides of
    ``a if c else b``, the operands of ``or``)."""
    if node is None:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _strings(item)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)


def _statuses(node: ast.AST | None) -> Iterator[ast.Constant]:
    return (c for c in _strings(node) if c.value in VALUES)


def _keyed(name: str | None) -> bool:
    return name is not None and name in KEYS


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def _report(self, node: ast.AST | None) -> None:
        self.found.extend((c.lineno, str(c.value)) for c in _statuses(node))

    def visit_Compare(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        for a, b in zip(sides, sides[1:], strict=False):
            if _keyed(_name(a)):
                self._report(b)
            if _keyed(_name(b)):
                self._report(a)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        called = _name(node.func)
        if isinstance(node.func, ast.Attribute) and called in ("in_", "not_in"):
            for arg in node.args:
                self._report(arg)
        if called in CALLS:
            for arg in node.args:
                self._report(arg)
        for i, arg in enumerate(node.args):  # patient(ledger.set_status, slug, "paused")
            if isinstance(arg, ast.Name | ast.Attribute) and _name(arg) in CALLS:
                for later in node.args[i + 1 :]:
                    self._report(later)
        first = node.args[0] if node.args else None
        if called == "bindparam" and isinstance(first, ast.Constant) and _keyed(str(first.value)):
            for arg in node.args[1:]:
                self._report(arg)
        for kw in node.keywords:
            if _keyed(kw.arg):
                self._report(kw.value)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and _keyed(str(key.value)):
                self._report(value)
        self.generic_visit(node)

    def _assigned(self, targets: list[ast.expr], value: ast.AST | None) -> None:
        if not any(_keyed(_name(t)) for t in targets):
            return
        self._report(value)
        if isinstance(value, ast.Call):  # a column: mapped_column(..., default="active")
            for kw in value.keywords:
                if kw.arg in DEFAULTS:
                    self._report(kw.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._assigned(node.targets, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._assigned([node.target], node.value)
        self.generic_visit(node)

    def visit_arguments(self, node: ast.arguments) -> None:
        positional = [*node.posonlyargs, *node.args]
        with_default = positional[len(positional) - len(node.defaults) :]
        pairs = list(zip(with_default, node.defaults, strict=True))
        pairs += [
            (a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d is not None
        ]
        for arg, default in pairs:
            if _keyed(arg.arg):
                self._report(default)
        self.generic_visit(node)


def bare_statuses(source: str, foreign: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, value) of each status written as a bare string in ``source``."""
    checker = _Checker()
    checker.visit(ast.parse(source))
    return sorted((line, value) for line, value in checker.found if value not in foreign)


def test_no_bare_status_strings_outside_states() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == STATES or "migrations" in path.parts:  # (a migration is history)
            continue
        where = path.relative_to(ROOT).as_posix()
        foreign = frozenset(FOREIGN.get(where, ()))
        for line, value in bare_statuses(path.read_text(encoding="utf-8"), foreign):
            found.append(f"{where}:{line}: {value!r}")
    assert not found, "statuses written as bare strings (use newsletter.store.states):\n" + (
        "\n".join(found)
    )


def test_the_checker_finds_each_kind_of_status_context() -> None:
    """What the test above must catch (each line of SNIPPET is one mistake)."""
    snippet = """
Campaign.status == "paused"
set_status(store, slug, "paused")
ledger.set_status(store, slug, "cancelled")
self.patient(ledger.set_status, c.slug, "paused")
self.patient(Store.event, "halted", f"{slug}: paused", campaign_id)
if sub.status != "active": pass
if "unsubscribed" == member.status: pass
if r.status in ("sent", "queued"): pass
q.where(Delivery.state.in_(["scheduled", "missed"]))
q.where(Confirmation.state.not_in(["queued"]))
update(Delivery).values(state="skipped")
store.suppress(email, "bounced", source="x")
store.event("halted", "a message")
conn.execute(insert(X), [{"state": "scheduled"}])
status = "pending" if confirm else "active"
status: Mapped[str] = mapped_column(String(20), default="active")
def add(feed, approve: str = "manual"): pass
bindparam("state", "scheduled")
if counts["reason"] == "erased": pass
"""
    found = bare_statuses(snippet)
    lines = {line for line, _ in found}
    mistakes = [n for n, text in enumerate(snippet.splitlines(), 1) if text.strip()]
    assert sorted(lines) == mistakes, found
    assert (found[0][1], found[2][1]) == ("paused", "cancelled")


def test_the_checker_leaves_other_words_alone() -> None:
    """Words that look like statuses but are not: command names, URLs, messages, CSS
    classes, headers, a form's action, enum members themselves."""
    snippet = """
@click.command("unsubscribe")
def cancel(): pass
_state_command("pause", CampaignStatus.PAUSED, "Pause a queued series")
bp = Blueprint("unsubscribe", __name__)
url = "/unsubscribe"
headers["List-Unsubscribe"] = f"<{url}>"
if action == "unsubscribe": pass
page("x.html", css="paused", message="active readers")
log.info("queued")
error = "cancelled"
Campaign.status == CampaignStatus.PAUSED
set_status(store, slug, CampaignStatus.PAUSED)
counts = {"sent": 0}
if f.level == "error": pass
x = ("sending", "provider")
"""
    assert bare_statuses(snippet) == []
