"""Engines behind rewrite and draft: the registry (offline, llm, replay, auto) and the LLM path."""
