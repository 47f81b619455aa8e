"""Fixtures for the LLM tests: the fake OpenAI-compatible server, configured as the model.

Import them into a test module (``from conftest_llm import fake_llm``); the index of the
real corpus comes from conftest.py's session fixture, so no test rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_openai import MODEL, FakeOpenAI

from drafter.engines.llm import call

TIMEOUT = "2"  # seconds in all per engine call: keeps the fault tests fast


def configure(monkeypatch: pytest.MonkeyPatch, base_url: str, client: str = "openai") -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("DRAFTER_LLM_MODEL", MODEL)
    monkeypatch.setenv("DRAFTER_LLM_TIMEOUT", TIMEOUT)
    monkeypatch.setenv("DRAFTER_LLM_RETRIES", "2")
    monkeypatch.setenv("DRAFTER_LLM_CLIENT", client)
    monkeypatch.delenv("DRAFTER_LLM_CACHE", raising=False)
    # Our own backoff (not a library's): short, so retry tests take milliseconds.
    monkeypatch.setattr(call, "BACKOFF_BASE", 0.01)


@pytest.fixture
def configure_llm(indexed, monkeypatch):
    """A function pointing the LLM settings at a base URL (e.g. a closed port)."""

    def point_at(base_url: str, client: str = "openai") -> None:
        configure(monkeypatch, base_url, client)

    return point_at


@pytest.fixture
def fake_llm(indexed, monkeypatch) -> Iterator[FakeOpenAI]:
    """The fake server, reached through the raw openai client."""
    with FakeOpenAI() as fake:
        configure(monkeypatch, fake.base_url, "openai")
        yield fake


@pytest.fixture(params=["openai", "langchain"])
def any_client(request, indexed, monkeypatch) -> Iterator[FakeOpenAI]:
    """The fake server, reached through each client: raw openai, then langchain's ChatOpenAI."""
    with FakeOpenAI() as fake:
        configure(monkeypatch, fake.base_url, request.param)
        yield fake
