"""回复助手 (drafter): rewrite customer-service drafts into the house tone, grounded in the manuals.

The public API (imported on first use, so that `import drafter` stays cheap):

- ``drafter.Drafter(settings)``: the core object; every capability is a method of it
- ``drafter.rewrite(text, engine="auto") -> RewriteResult``
- ``drafter.draft(message, channel="chat", engine="auto") -> DraftResult``
- ``drafter.search(query, k=5) -> list[Passage]``

The three functions use the default `Drafter` (settings from the environment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drafter.core import Drafter
    from drafter.drafting.composer import DraftResult
    from drafter.types import Passage, RewriteResult

__all__ = ["Drafter", "draft", "rewrite", "search"]


def rewrite(text: str, engine: str = "auto") -> RewriteResult:
    """Rewrite a draft into the house tone with the default Drafter."""
    from drafter.core import Drafter

    return Drafter.default().rewrite(text, engine)


def draft(
    message: str, channel: str = "chat", engine: str = "auto", *, situation: str | None = None
) -> DraftResult:
    """Draft a reply to a customer message with the default Drafter."""
    from drafter.core import Drafter

    return Drafter.default().draft(message, channel, engine, situation=situation)


def search(query: str, k: int = 5) -> list[Passage]:
    """The passages of the manuals that best answer ``query``, with the default Drafter."""
    from drafter.core import Drafter

    return Drafter.default().search(query, k)


def __getattr__(name: str) -> Any:
    if name == "Drafter":  # the core module is imported on first use
        from drafter.core import Drafter

        return Drafter
    raise AttributeError(f"module 'drafter' has no attribute {name!r}")
