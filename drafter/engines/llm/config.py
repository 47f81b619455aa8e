"""Is an LLM configured, and the client that reaches it (retries are ours, never the client's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from drafter.errors import NotConfiguredError
from drafter.state import current

CLIENTS = ("openai", "langchain")


@dataclass(frozen=True)
class LLMConfig:
    model: str
    api_key: str
    base_url: str
    timeout: float  # total seconds for one engine call, all retries included
    retries: int
    client: str  # "openai" | "langchain"

    @property
    def engine(self) -> str:
        """The engine name results carry: ``llm:<model>``."""
        return f"llm:{self.model}"


def configured() -> tuple[bool, str]:
    """(True, "") when the LLM engine can run, else (False, the reason in one sentence)."""
    if not current().settings.llm_model:
        return False, "没有配置模型：请设置 DRAFTER_LLM_MODEL（no LLM model configured）。"
    if not (current().settings.openai_api_key or current().settings.openai_base_url):
        return False, (
            "没有配置模型服务：请设置 OPENAI_API_KEY 或 OPENAI_BASE_URL（no API key or base URL）。"
        )
    return True, ""


def load() -> LLMConfig:
    """The configuration from the environment; NotConfiguredError says which variables to set."""
    ok, reason = configured()
    if not ok:
        raise NotConfiguredError(
            "LLM 引擎未配置：请设置 DRAFTER_LLM_MODEL，以及 OPENAI_API_KEY 或 OPENAI_BASE_URL"
            "（the LLM engine is not configured）。",
            reason=reason,
        )
    client = current().settings.llm_client.strip().lower()
    if client not in CLIENTS:
        raise NotConfiguredError(
            f"DRAFTER_LLM_CLIENT 只能是 {' 或 '.join(CLIENTS)}，而不是 {client!r}。"
        )
    return LLMConfig(
        model=current().settings.llm_model,
        api_key=current().settings.openai_api_key,
        base_url=current().settings.openai_base_url,
        timeout=max(0.1, current().settings.llm_timeout),
        retries=max(0, current().settings.llm_retries),
        client=client,
    )


def openai_client(cfg: LLMConfig):
    """A raw ``openai.OpenAI`` client: max_retries=0, since call.py does the retrying."""
    from openai import OpenAI

    return OpenAI(
        # Local servers (vLLM, Ollama, llama.cpp) need no key, but the client wants one.
        api_key=cfg.api_key or "not-needed",
        base_url=cfg.base_url or None,
        timeout=cfg.timeout,
        max_retries=0,
    )


def langchain_chat(cfg: LLMConfig, timeout: float, **kwargs: Any):
    """A ``langchain_openai.ChatOpenAI`` for one attempt (``timeout`` = the time left)."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=cfg.model,
        # ChatOpenAI's field is typed SecretStr; it coerced a plain str to the same value.
        api_key=SecretStr(cfg.api_key or "not-needed"),
        base_url=cfg.base_url or None,
        timeout=timeout,
        max_retries=0,
        temperature=0,
        **kwargs,
    )
