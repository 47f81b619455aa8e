"""The same call through langchain-openai's ``ChatOpenAI`` (DRAFTER_LLM_CLIENT=langchain).

Only the sending differs: call.py keeps the format fallbacks, retries, cache and timing.
langchain re-raises the openai exceptions (as subclasses), so faults are classified alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from drafter.engines.llm import config
from drafter.engines.llm.transport import RawReply, text_of


def _messages(messages: list[dict]):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


def _tokens(usage: dict | None) -> tuple[int | None, int | None]:
    if not usage:
        return None, None
    return usage.get("input_tokens"), usage.get("output_tokens")


class LangChainTransport:
    def __init__(self, cfg: config.LLMConfig) -> None:
        self.cfg = cfg
        # langchain and the openai helpers it streams through import lazily (seconds, once per
        # process): pay that here, before the clock of DRAFTER_LLM_TIMEOUT starts.
        import langchain_core.messages  # noqa: F401
        import openai.lib.streaming.chat  # noqa: F401

        # One model object per transport (building one takes ~20 ms); each request gets the
        # time left as its own timeout.
        self.chat = config.langchain_chat(cfg, cfg.timeout)
        self.chat.root_client.beta.chat.completions  # noqa: B018 - the lazy import, now

    def create(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> RawReply:
        kwargs: dict = {"timeout": timeout}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if response_format is not None:
            kwargs["response_format"] = response_format
        result = self.chat.generate([_messages(messages)], **kwargs)
        generations = result.generations[0] if result.generations else []
        output = result.llm_output or {}
        model = output.get("model_name") or self.cfg.model
        if not generations:
            usage = output.get("token_usage") or {}
            return RawReply(
                None,
                None,
                model,
                usage.get("prompt_tokens"),
                usage.get("completion_tokens"),
                empty=True,
            )
        gen = generations[0]
        message = gen.message
        content = text_of(message.content) or ""
        prompt_tokens, completion_tokens = _tokens(getattr(message, "usage_metadata", None))
        finish = (gen.generation_info or {}).get("finish_reason")
        return RawReply(content, finish, model, prompt_tokens, completion_tokens)

    def stream(
        self,
        messages: list[dict],
        response_format: dict | None,
        timeout: float,
        max_tokens: int | None = None,
    ) -> Iterator[str | RawReply]:
        # The plain-text rung also drops the usage stream option (some servers refuse it).
        kwargs: dict = {"timeout": timeout, "stream_usage": response_format is not None}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if response_format is not None:
            kwargs["response_format"] = response_format
        parts: list[str] = []
        finish = None
        model = self.cfg.model
        usage = None
        saw = False
        for chunk in self.chat.stream(_messages(messages), **kwargs):
            saw = True
            meta = chunk.response_metadata or {}
            finish = meta.get("finish_reason") or finish
            model = meta.get("model_name") or model
            if chunk.usage_metadata:
                usage = chunk.usage_metadata
            piece = chunk.content if isinstance(chunk.content, str) else ""
            if piece:
                parts.append(piece)
                yield piece
        prompt_tokens, completion_tokens = _tokens(usage)
        text = "".join(parts)
        yield RawReply(
            text,
            finish,
            model,
            prompt_tokens,
            completion_tokens,
            empty=not saw or (not text and finish is None),
        )
