"""回复助手 (drafter): rewrite customer-service drafts into the house tone, grounded in the manuals.

The public API, imported on first use so that `import drafter` stays cheap:

- ``drafter.rewrite(text, engine="auto") -> RewriteResult``
- ``drafter.draft(message, channel="chat", engine="auto") -> DraftResult``
- ``drafter.search(query, k=5) -> list[Passage]``
"""

from __future__ import annotations

__all__ = ["draft", "rewrite", "search"]

_API = {
    "rewrite": ("drafter.engines.registry", "rewrite"),
    "draft": ("drafter.drafting.composer", "draft"),
    "search": ("drafter.retrieval.hybrid", "search"),
}


def __getattr__(name: str):
    if name in _API:
        import importlib

        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'drafter' has no attribute {name!r}")
