"""The LLM engine: any OpenAI-compatible model rewrites and drafts, validated against the manuals.

One module per responsibility: config (is it configured, the client), prompts (prompt files,
token budget), call (one structured completion: format fallbacks, retries, streaming), transport
and lc (sending through the raw openai client or langchain's ChatOpenAI), cache (recorded
replies, replay), align (draft vs rewrite → change spans), validate (facts, leftovers, spans,
citations, scope), rewriting and drafting (the engines). drafter.engines.registry picks the engine.
"""

from __future__ import annotations

from drafter.engines.llm.config import configured

__all__ = ["configured"]
