"""newsletter.toml is parsed once into typed values; a bad value is a one-line error naming
the setting; `init` writes a file that matches the settings; the README names every command."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.config import Config, ProviderName, load_config
from newsletter.configfile import DEFAULT_TOML
from newsletter.errors import NewsletterError
from newsletter.providers import PROVIDERS

from .conftest import REPO


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(root / "newsletter.toml"), *args])
    return result.exit_code, result.output


def test_settings_are_typed_when_loaded(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text(
        '[sending]\nprovider = "postmark"\ntimezone = "Europe/Berlin"\ngrace = "1d12h"\n'
    )
    cfg = load_config(tmp_path / "newsletter.toml")
    assert cfg.sending.provider is ProviderName.POSTMARK
    assert cfg.sending.zone == ZoneInfo("Europe/Berlin")
    assert cfg.sending.grace_interval == timedelta(days=1, hours=12)
    assert set(PROVIDERS) == {p.value for p in ProviderName}


@pytest.mark.parametrize(
    "toml,expected",
    [
        (
            '[sender]\nname = "Eve\\r\\nBcc: victim@evil.example"\n',
            "'sender.name' holds a control character (CR)",
        ),
        (
            '[sender]\nname = "Eve\\u2028Bcc: x@evil.example"\n',
            "'sender.name' holds a control character (U+2028)",
        ),
        (
            '[sender]\nname = "' + "A" * 201 + '"\n',
            "'sender.name' is 201 characters long; the most is 200",
        ),
        (
            '[sender]\nemail = "me@x.org\\nBcc: a@b.org"\n',
            "'sender.email' holds a control character (LF)",
        ),
        ('[sender]\nemail = "not an address"\n', "'sender.email': expected an email address"),
        (
            '[sender]\nreply_to = "you@x.org\\r"\n',
            "'sender.reply_to' holds a control character (CR)",
        ),
        ('[sending]\nprovider = "postmrak"\n', "'sending.provider': unknown provider 'postmrak'"),
        ('[sending]\ntimezone = "Europe/Berln"\n', "unknown timezone 'Europe/Berln'"),
        ('[sending]\ngrace = "six hours"\n', "expected an interval like 3d"),
        ("[sending]\nbatch_size = -5\n", "'sending.batch_size': expected a number of at least 0"),
        ("[sending]\nmax_error_rate = 2.0\n", "'sending.max_error_rate': expected a share"),
        ("[sending]\npoll_seconds = 0\n", "'sending.poll_seconds': expected a number above 0"),
        ('[web]\nbase_url = "news.example.org"\n', "'web.base_url': expected an address like"),
        ("[web]\nport = 70000\n", "'web.port': expected a port"),
        ('[sending]\nzone = "UTC"\n', "unknown setting 'sending.zone'"),
        ('[brand]\nprimary_color = "red;}</style><script>x()</script>"\n', "expected a colour"),
        ('[brand]\nfont_family = "Georgia;}</style>"\n', "expected font names"),
        ('[brand]\nlogo_url = "javascript:alert(1)"\n', "'brand.logo_url': expected an address"),
        ('[feeds]\npoll = "hourly"\n', "expected an interval like 3d"),
        ('[feeds]\nnotify = "me@x.org\\r\\nBcc: y@z.org"\n', "'feeds.notify' holds a control"),
    ],
)
def test_a_bad_setting_is_a_one_line_error_naming_it(
    tmp_path: Path, toml: str, expected: str
) -> None:
    (tmp_path / "newsletter.toml").write_text(toml)
    code, out = run(tmp_path, "subscribers", "list")
    assert code == 1 and expected in out, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert "newsletter.toml" in out or "timezone" in out or "interval" in out
    assert not (tmp_path / "newsletter.db").exists(), "nothing written"


def test_a_short_newsletter_secret_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSLETTER_SECRET", "short\n")
    (tmp_path / "newsletter.toml").write_text("")
    code, out = run(tmp_path, "subscribers", "add", "ann@calm-practice.org")
    assert code == 1 and "$NEWSLETTER_SECRET: expected at least 16 characters, got 5" in out
    assert "short" not in out.replace("got 5", "")
    assert not (tmp_path / "newsletter.db").exists(), "no settings row, no database"


def test_init_writes_every_setting_with_its_default(tmp_path: Path) -> None:
    (tmp_path / "newsletter.toml").write_text(DEFAULT_TOML)
    assert load_config(tmp_path / "newsletter.toml").__dict__.keys() == Config().__dict__.keys()
    loaded, default = load_config(tmp_path / "newsletter.toml"), Config(root=tmp_path)
    for section in ("sender", "brand", "sending", "web", "tracking", "dns"):
        assert getattr(loaded, section) == getattr(default, section), section
    # Every setting is in the file, in its own section (set or commented out).
    sections = re.split(r"^\[(\w+)\]$", DEFAULT_TOML, flags=re.M)
    body = dict(zip(sections[1::2], sections[2::2], strict=True))
    from dataclasses import fields

    for section, text in body.items():
        for f in fields(getattr(default, section)):
            if f.metadata.get("derived"):
                continue
            assert re.search(rf"^#? ?{f.name} = ", text, re.M), (section, f.name)
    # Uncommenting every example still gives a valid file.
    uncommented = re.sub(r"^# ?(\w+ = |\[)", r"\1", DEFAULT_TOML, flags=re.M)
    (tmp_path / "newsletter.toml").write_text(uncommented)
    cfg = load_config(tmp_path / "newsletter.toml")
    assert cfg.web.base_url == "https://news.example.com"
    assert cfg.providers["mailgun"]["domain"] == "mg.example.com"
    # Each section (set or commented out) is its own paragraph: a blank line before it or
    # before the comment lines that introduce it.
    lines = DEFAULT_TOML.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^(# )?\[[\w.]+\]", line):
            j = i - 1
            while j >= 0 and lines[j].startswith("# ") and not re.match(r"^# \[", lines[j]):
                j -= 1
            assert j < 0 or lines[j] == "", f"no blank line before {line!r}"


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()

    def walk(group: click.Group, prefix: str) -> list[str]:
        out = []
        for name, cmd in group.commands.items():
            path = f"{prefix} {name}"
            out.extend(walk(cmd, path) if isinstance(cmd, click.Group) else [path])
        return out

    commands = walk(cli, "newsletter")
    assert len(commands) > 20
    missing = [c for c in commands if c not in readme]
    assert missing == [], f"not in README.md: {missing}"


def test_init_writes_each_setting_at_its_default_or_its_example(tmp_path: Path) -> None:
    """DEFAULT_TOML is generated from the settings: uncommented, every line gives the
    setting's default, or the example shown in its place (a placeholder is no default)."""
    from newsletter.configfile import all_settings, default_of

    uncommented = re.sub(r"^# ?(\w+ = |\[)", r"\1", DEFAULT_TOML, flags=re.M)
    (tmp_path / "newsletter.toml").write_text(uncommented)
    cfg = load_config(tmp_path / "newsletter.toml")
    for name, f in all_settings():
        table, _, key = name.rpartition(" ")
        obj: object = cfg
        for part in table.strip("[]").split(".") if table else []:
            obj = {
                "providers": cfg,  # [providers.smtp] is cfg.smtp
                "lists": cfg.lists,
                "NAME": cfg.lists.get("readers"),
            }.get(part) or getattr(obj, part)
        example = f.metadata["example"]
        assert getattr(obj, key) == (default_of(f) if example is None else example), name


@pytest.mark.parametrize(
    "toml,expected",
    [
        ("x = 1", "newsletter.toml: unknown setting 'x' (expected one of: bounces, brand,"),
        ("database_url = 3", "newsletter.toml: setting 'database_url' expected text, got 3"),
        ("sender = 3", "newsletter.toml: 'sender' must be a table ([sender])"),
        ("[sender]\nname = 5", "newsletter.toml: setting 'sender.name' expected str, got 5"),
        ("bounces = 1", "newsletter.toml: 'bounces' must be a table ([bounces])"),
        ("[bounces]\nimap = 3", "'bounces.imap' must be a table ([bounces.imap])"),
        ('[bounces.imap]\nhost = "h"', "newsletter.toml: [bounces.imap] needs 'user'"),
        ('[bounces]\nevery = "x"', "setting 'bounces.every': expected an interval like 3d"),
        ("providers = 1", "'providers' must hold tables like [providers.postmark]"),
        ("[providers.smtp]\nport = 25", "newsletter.toml: [providers.smtp] needs 'host'"),
        ('[providers.smtp]\nhost = "h"\nsecurity = "ssl"', "expected one of starttls, tls, none"),
        ("lists = 1", "'lists' must hold tables like [lists.readers]"),
        ('[lists.r]\npage = "ftp://x"', "newsletter.toml: [lists.r] page: expected an address"),
        ('[lists.r]\nlanguage = "German"', "setting 'lists.r.language': expected a language"),
        ("[lists.r]\nfoo = 1", "unknown setting 'lists.r.foo'"),
        ('[series]\nsubject = "{title}"', "'series.subject' has neither {heading} nor {k}"),
        ("[notify]\nrate_window = 0", "'notify.rate_window': expected a number of at least 1"),
    ],
)
def test_every_table_s_mistakes_are_named_as_before(
    tmp_path: Path, toml: str, expected: str
) -> None:
    """load_config reads each table with its own small function: the messages stayed."""
    path = tmp_path / "newsletter.toml"
    path.write_text(toml)
    with pytest.raises(NewsletterError) as caught:
        load_config(path)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
