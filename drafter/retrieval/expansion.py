"""Search's query-rewriting arm: with an LLM configured, the agent's question is also asked in
the manuals' own terms.

Agents ask in their own words (客人开喷了咋整); the manuals say it in theirs (客户愤怒 …). The
model restates the question as one to three short search sentences (prompts/search.*.md);
each is searched like the question and fused with it by rank (a lower weight than the
question itself). Answers are cached on disk by prompt, so a question costs one call. A
model that is slow, down or answers nonsense costs at most DRAFTER_SEARCH_LLM_TIMEOUT: search
then answers from the question alone and says why (``drafter search`` prints it on stderr).
"""

from __future__ import annotations

from dataclasses import dataclass

from drafter.state import current

MAX_QUERIES = 3
MAX_QUERY_CHARS = 60
SCHEMA = {
    "type": "object",
    "properties": {
        "queries": {
            "type": "array",
            "items": {"type": "string", "maxLength": MAX_QUERY_CHARS},
            "minItems": 1,
            "maxItems": MAX_QUERIES,
        }
    },
    "required": ["queries"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Expansion:
    queries: tuple[str, ...]  # the question restated in the manuals' terms (may be empty)
    warning: str | None = None  # why there are none although a model is configured


def enabled() -> bool:
    """Whether the arm runs: DRAFTER_SEARCH_LLM=auto (default) and an LLM configured."""
    from drafter.engines.llm import config

    return current().settings.search_llm == "auto" and config.configured()[0]


def _validate(data: dict) -> list[str]:
    raw = data.get("queries")
    if not isinstance(raw, list) or not raw:
        raise ValueError('需要 {"queries": ["…"]}，至少一句')
    out = []
    for q in raw:
        if not isinstance(q, str) or not q.strip():
            raise ValueError("queries 里的每一项都应是非空字符串")
        out.append(q.strip()[:MAX_QUERY_CHARS])
    return out[:MAX_QUERIES]


def expand(query: str) -> Expansion:
    """The question in the manuals' terms, from the model; empty (with the reason) when the
    arm is off, the model fails or its answer is unusable. Never raises for the model."""
    if not enabled():
        return Expansion(())
    from drafter.engines.llm import call, prompts
    from drafter.errors import DrafterError

    begin, end = prompts.delimiters(query, "QUESTION")
    values = {"begin": begin, "end": end, "query": query}
    try:
        messages = [
            {"role": "system", "content": prompts.load("search.system").render(values)},
            {"role": "user", "content": prompts.load("search.user").render(values)},
        ]
        reply = call.complete_json(
            messages,
            SCHEMA,
            name="search_queries",
            validate=_validate,
            cache=True,  # a question is rewritten once
            max_tokens=160,
            timeout=current().settings.search_llm_timeout,
            retries=0,
        )
    except (DrafterError, OSError, ValueError) as err:
        return Expansion((), f"改写查询的模型不可用（{type(err).__name__}），本次只按原问题检索")
    queries = [q for q in _validate(reply.data) if q != query]
    return Expansion(tuple(dict.fromkeys(queries)))
