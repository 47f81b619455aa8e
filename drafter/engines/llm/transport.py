"""Sending one chat request: the raw ``openai.OpenAI`` client (langchain's is in lc.py).

A transport only sends and reports what came back; call.py decides what is a fault, what
to retry and for how long. One transport per configuration and process keeps connections
alive between calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from drafter.engines.llm import config


@dataclass
class RawReply:
    """What a transport got back from one request."""

    content: str | None
    finish_reason: str | None
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    empty: bool = False  # no choices at all


def text_of(content: object) -> str | None:
    """A message's content as text: some servers send a list of parts
    (``[{"type": "text", "text": "…"}]``) where the OpenAI API sends a string."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                text = getattr(part, "text", None)
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return str(content)


class Transport(Protocol):
    def create(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> RawReply: ...

    def stream(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> Iterator[str | RawReply]: ...


class OpenAITransport:
    """The raw ``openai.OpenAI`` client (max_retries=0)."""

    def __init__(self, cfg: config.LLMConfig) -> None:
        self.cfg = cfg
        self.client = config.openai_client(cfg)

    def _kwargs(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None,
    ) -> dict:
        kwargs: dict = {
            "model": self.cfg.model,
            "messages": messages,
            "temperature": 0,
            "timeout": timeout,
        }
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if response_format is not None:
            kwargs["response_format"] = response_format
        return kwargs

    def create(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> RawReply:
        kwargs = self._kwargs(messages, response_format, timeout, max_tokens)
        reply = self.client.chat.completions.create(**kwargs)
        usage = reply.usage
        if not reply.choices:
            return RawReply(
                None,
                None,
                reply.model or "",
                usage.prompt_tokens if usage else None,
                usage.completion_tokens if usage else None,
                empty=True,
            )
        choice = reply.choices[0]
        return RawReply(
            text_of(choice.message.content) if choice.message else None,
            choice.finish_reason,
            reply.model or "",
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
        )

    def stream(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> Iterator[str | RawReply]:
        kwargs = self._kwargs(messages, response_format, timeout, max_tokens)
        kwargs["stream"] = True
        if response_format is not None:  # the plain-text rung also drops stream options
            kwargs["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        finish = None
        model = ""
        prompt_tokens = completion_tokens = None
        saw_choice = False
        with self.client.chat.completions.create(**kwargs) as stream:
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    prompt_tokens = chunk.usage.prompt_tokens
                    completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices or []:
                    saw_choice = True
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        parts.append(piece)
                        yield piece
                    if choice.finish_reason:
                        finish = choice.finish_reason
        yield RawReply(
            "".join(parts), finish, model, prompt_tokens, completion_tokens, empty=not saw_choice
        )


_transports: dict[config.LLMConfig, Transport] = {}
_transports_lock = threading.Lock()


def make_transport(cfg: config.LLMConfig) -> Transport:
    """The client named by DRAFTER_LLM_CLIENT: the raw openai one or langchain's ChatOpenAI.

    One per configuration and process, so connections are kept alive between calls.
    """
    with _transports_lock:
        hit = _transports.get(cfg)
    if hit is not None:
        return hit
    if cfg.client == "langchain":
        from drafter.engines.llm.lc import LangChainTransport

        transport: Transport = LangChainTransport(cfg)
    else:
        transport = OpenAITransport(cfg)
    with _transports_lock:
        if len(_transports) >= 8:
            _transports.clear()
        _transports[cfg] = transport
    return transport
