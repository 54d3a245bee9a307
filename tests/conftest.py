from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.config import Config

HERE = Path(__file__).resolve().parent
ARTICLES = HERE / "articles"
REPO = HERE.parent
SEED = REPO.parent / "shared" / "seed" / "working-mom-guilt.txt"


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
