"""The README is tested as sqlite-utils tests its documentation: every setting and command
it names exists, every setting that exists is in it with its default, and its quick start
runs, command by command, through the installed `newsletter` in a fresh folder."""

from __future__ import annotations

import email
import email.policy
import os
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.request
from importlib import import_module
from pathlib import Path

import click

from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.configfile import all_settings, default_of, toml_value
from newsletter.providers import PROVIDERS
from newsletter.providers.http import SETTINGS, HttpProvider

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
#: a fenced block the test runs is announced by this comment just above it
RUNS = "<!-- tests/test_docs.py runs this block -->"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
#: a row of the settings table: | `[sending] grace` | `"6h"` | what it does |
ROW = re.compile(r"^\| `((?:\[[\w.]+\] )?\w+)` \| (`[^`]*`|[^|`]*) \| (.*) \|$", re.M)


def section(heading: str) -> str:
    start = README.index(heading)
    following = re.search(r"^#{1,4} ", README[start + len(heading) :], re.M)
    return README[start : start + len(heading) + (following.start() if following else len(README))]


def readme_table() -> dict[str, tuple[str, str]]:
    rows = ROW.findall(section("### Every setting"))
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "a setting is in the table twice"
    return {name: (default, what) for name, default, what in rows}


def provider_settings() -> set[str]:
    """``[providers.NAME] timeout`` (every HTTP provider), ``[providers.mailgun] domain``."""
    out = {f"[providers.NAME] {key}" for key in SETTINGS}
    for name, where in PROVIDERS.items():
        module, _, class_name = where.partition(":")
        cls = getattr(import_module(module), class_name)
        if issubclass(cls, HttpProvider):
            out |= {f"[providers.{name}] {key}" for key in cls.extra_settings()}
    return out


def test_every_setting_is_in_the_readme_with_its_default_and_no_other() -> None:
    table = readme_table()
    code = {name: f for name, f in all_settings()}
    missing = sorted(set(code) - set(table))
    assert missing == [], f"settings missing from README.md's table: {missing}"
    unknown = sorted(set(table) - set(code) - provider_settings())
    assert unknown == [], f"README.md's table names settings that do not exist: {unknown}"
    absent = sorted(provider_settings() - set(table))
    assert absent == [], f"provider settings missing from README.md's table: {absent}"
    for name, f in code.items():
        default, what = table[name]
        assert default == f"`{toml_value(default_of(f))}`", (name, default)
        assert what.strip(), f"{name}: no description in README.md"


def test_every_setting_the_readme_mentions_exists() -> None:
    known = {name.replace("[lists.NAME]", "[lists.LIST]") for name, _ in all_settings()}
    known |= {name for name, _ in all_settings()} | provider_settings()
    tables = {name.partition("]")[0] + "]" for name in known if name.startswith("[")}
    wrong = []
    for table, key in re.findall(r"`\[([\w.]+)\] (\w+)`", README):
        name = f"[{table}] {key}"
        if table.startswith("providers.") and table != "providers.smtp":
            name = f"[providers.NAME] {key}" if key in SETTINGS else name
        if name not in known:
            wrong.append(name)
    roots = {t.strip("[]").split(".")[0] for t in tables}
    for table in re.findall(r"`\[([\w.]+)\]`", README):
        if table.split(".")[0] not in roots:
            continue  # not a table of newsletter.toml ("[TEST]" in a subject)
        generic = re.sub(r"^(lists|providers)\.(?!smtp$)\w+$", r"\1.NAME", table)
        if f"[{generic}]" not in tables | {"[lists.LIST]", "[providers.NAME]"}:
            wrong.append(f"[{table}]")
    assert wrong == [], f"README.md names settings that do not exist: {wrong}"


def test_every_toml_example_in_the_readme_loads(tmp_path: Path) -> None:
    blocks = [body for lang, body in FENCE.findall(README) if lang == "toml"]
    assert len(blocks) >= 4
    for body in blocks:
        path = tmp_path / "newsletter.toml"
        path.write_text(body, encoding="utf-8")
        load_config(path)  # an unknown setting or a bad value is a ConfigError


def command_lines() -> list[str]:
    """Every `newsletter ...` the README shows: in inline code and in shell blocks."""
    texts = re.findall(r"(?<!`)`([^`\n]+(?:\n[^`\n]+){0,2})`(?!`)", FENCE.sub("", README))
    for lang, body in FENCE.findall(README):
        if lang in ("", "sh", "console"):
            texts.extend(body.splitlines())
    out = []
    for text in texts:
        for m in re.finditer(r"(?:^|(?<=[\s($/]))newsletter((?:\s+(?!\|\s)[^\s#&;)`]+)*)", text):
            out.append("newsletter" + m.group(1))
    return out


def resolve(line: str) -> tuple[click.Command, list[str], str]:
    """The command a line runs, its options, and its name."""
    cmd: click.Command = cli
    name = "newsletter"
    tokens = line.split()[1:]
    while tokens and isinstance(cmd, click.Group) and re.fullmatch(r"[a-z][a-z-]*", tokens[0]):
        sub = cmd.commands.get(tokens[0])
        if sub is None:
            raise LookupError(f"{name} {tokens[0]}: no such command (in {line!r})")
        cmd, name, tokens = sub, f"{name} {tokens[0]}", tokens[1:]
    options = [
        o.split("=")[0] for t in tokens for o in re.split(r"[|\[\]]", t) if o.startswith("--")
    ]
    return cmd, options, name


def test_every_command_and_option_the_readme_shows_exists() -> None:
    lines = command_lines()
    assert len(lines) > 100
    wrong = []
    for line in lines:
        try:
            cmd, options, name = resolve(line)
        except LookupError as exc:
            wrong.append(str(exc))
            continue
        known = {o for p in cmd.params for o in getattr(p, "opts", [])} | {"--help"}
        wrong += [f"{name} {o}: no such option" for o in options if o not in known]
    assert wrong == [], "README.md drifted from the CLI:\n" + "\n".join(sorted(set(wrong)))


# --- the quick start, run ---------------------------------------------------------------
def entry_point() -> str:
    found = shutil.which("newsletter", path=str(Path(sys.executable).parent))
    assert found, "the `newsletter` entry point is not installed beside this Python"
    return found


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["PATH"] = f"{Path(entry_point()).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    return env


def first_line(proc: subprocess.Popen[str]) -> str:
    """The server's first line of output ("... at http://127.0.0.1:PORT/"), waited for."""
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=600)  # generous: a busy machine is slow, not broken


def serve_and_look(line: str, cwd: Path, env: dict[str, str]) -> None:
    """`newsletter preview ISSUE`: started, its part 1 fetched like a browser would, stopped."""
    # no shell between: terminate() must reach the server itself, not leave it running
    proc = subprocess.Popen(
        [*shlex.split(line), "--port", "0"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out = first_line(proc)
        url = re.search(r"http://127\.0\.0\.1:\d+/", out)
        assert url, out
        with urllib.request.urlopen(url.group(0) + "parts/1.html", timeout=120) as answer:
            page = answer.read().decode()
        assert answer.status == 200 and "Part 1 of 2" in page
    finally:
        proc.terminate()
        proc.wait(timeout=120)
        assert proc.stdout is not None
        proc.stdout.close()


def test_the_quick_start_runs(tmp_path: Path) -> None:
    blocks = re.findall(re.escape(RUNS) + r"\n```sh\n(.*?)^```", README, re.M | re.S)
    assert blocks, f"no block marked {RUNS!r} in README.md"
    env, cwd = clean_env(tmp_path), tmp_path
    for line in (ln for b in blocks for ln in b.splitlines()):
        command = line.split("  #")[0].strip()
        if not command:
            continue
        if command.startswith("newsletter preview"):
            serve_and_look(command, cwd, env)
            continue
        # each line in the folder the previous one left (`cd mynews`), as a shell would
        script = f"set -e\n{command}\npwd > {tmp_path / '.cwd'}\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        cwd = Path((tmp_path / ".cwd").read_text().strip())
    # What the editor sees at the end: part 1 in the outbox, to Ann, greeting her by name.
    sent = sorted((cwd / "outbox").glob("*.eml"))
    assert len(sent) == 1, sent
    with sent[0].open("rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    assert msg["To"].endswith("ann@example.com>") or msg["To"] == "ann@example.com"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hi Ann," in text and "Part 1 of 2" in text
