"""The settings the desk edits, written back to ``newsletter.toml`` with its comments and
layout kept (tomlkit); the new file is read as every command reads it before it replaces
the old one, so a mistake is the one-line error naming the setting, and nothing changes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, load_config
from ..errors import ConfigError
from .issues import write_atomically


@dataclass(frozen=True)
class Field:
    section: str
    key: str
    label: str
    kind: str = "text"  # the input's type
    help: str = ""

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


FIELDS = (
    Field("sender", "name", "Sender name"),
    Field("sender", "email", "Sender address", "email"),
    Field("sender", "reply_to", "Replies go to", "email", "optional"),
    Field("sender", "postal_address", "Postal address", help="shown in every email's footer"),
    Field("brand", "primary_color", "Button and link colour", "color"),
    Field("brand", "text_color", "Text colour", "color"),
    Field("brand", "background_color", "Background colour", "color"),
    Field("brand", "logo_url", "Logo link", "url", "optional: an https address of your logo"),
    Field("web", "base_url", "Public address", "url", "where 'newsletter serve' answers readers"),
)


def current(config: Config) -> dict[str, str]:
    """What each field shows: the setting in force (the default where the file has none)."""
    return {f.name: str(getattr(getattr(config, f.section), f.key, "") or "") for f in FIELDS}


def save(config: Config, values: dict[str, str]) -> Config:
    """Write ``values`` (by field name) into the configuration file; the new configuration."""
    import tomlkit

    path = config.path
    if path is None:
        raise ConfigError(
            "there is no newsletter.toml to write to", hint="run 'newsletter init' first"
        )
    doc = tomlkit.parse(Path(path).read_text(encoding="utf-8"))
    for f in FIELDS:
        if f.name not in values:
            continue
        value = values[f.name].strip()
        table = doc.get(f.section)
        if table is None:
            table = tomlkit.table()
            doc[f.section] = table
        if value:
            table[f.key] = value
        elif f.key in table:
            del table[f.key]
    text = tomlkit.dumps(doc)
    with tempfile.TemporaryDirectory(prefix="newsletter-settings-") as tmp:
        trial = Path(tmp) / Path(path).name
        trial.write_text(text, encoding="utf-8")
        try:
            load_config(trial)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(trial), str(path))) from None
    write_atomically(Path(path), text)
    return load_config(Path(path))
