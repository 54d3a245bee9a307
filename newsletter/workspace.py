"""A working folder for an editor: newsletter.toml, issues/ with an example, templates/."""

from __future__ import annotations

from pathlib import Path

from .configfile import DEFAULT_TOML
from .resources import examples_dir

TEMPLATES_README = """\
Put a template here to override the built-in one with the same name, for example
email.mjml.j2 (the layout) or components/footer.mjml.j2. Copy the built-in one first:
they are in the installed package, folder newsletter/templates.
"""


def example_issues() -> list[tuple[str, str]]:
    """(file name, text) of the example issues shipped with the package."""
    return sorted((p.name, p.read_text(encoding="utf-8")) for p in examples_dir().glob("*.md"))


def init_workspace(directory: Path) -> list[Path]:
    """Create what is missing; an existing file is never overwritten."""
    created: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        directory / "newsletter.toml": DEFAULT_TOML,
        directory / "templates" / "README.txt": TEMPLATES_README,
    }
    for name, text in example_issues():
        files[directory / "issues" / name] = text
    for path, text in files.items():
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        created.append(path)
    return created
