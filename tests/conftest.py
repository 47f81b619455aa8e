"""Shared fixtures: every test gets its own state folder and no LLM configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
LLM_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DRAFTER_LLM_MODEL",
    "DRAFTER_EMBEDDINGS_MODEL",
    "DRAFTER_CHROMA_URL",
    "DRAFTER_KNOWLEDGE",
    "DRAFTER_FEEDBACK_DB",
    "DRAFTER_FEEDBACK_URL",
)


@pytest.fixture(autouse=True)
def drafter_home(tmp_path_factory, monkeypatch) -> Path:
    """DRAFTER_HOME in a temporary folder, so tests never touch a user's data."""
    home = tmp_path_factory.mktemp("drafter-home")
    monkeypatch.setenv("DRAFTER_HOME", str(home))
    for var in LLM_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def shared_index_home(tmp_path_factory) -> Path:
    """One index of the real corpus, built once per session for the read-only retrieval tests."""
    home = tmp_path_factory.mktemp("index-home")
    old = os.environ.get("DRAFTER_HOME")
    os.environ["DRAFTER_HOME"] = str(home)
    try:
        from drafter.retrieval.index import build_index

        build_index()
    finally:
        if old is None:
            os.environ.pop("DRAFTER_HOME", None)
        else:
            os.environ["DRAFTER_HOME"] = old
    return home


@pytest.fixture
def indexed(shared_index_home, monkeypatch) -> Path:
    """Point DRAFTER_HOME at the session's index of the real corpus."""
    monkeypatch.setenv("DRAFTER_HOME", str(shared_index_home))
    return shared_index_home
