"""The named API endpoints ``/rewrite`` and ``/draft`` (gradio_client, scripts, MCP tools).

Each takes the text as its first parameter (the others have defaults) and returns the JSON
contract of DESIGN.md. The function names are the MCP tool names; the docstrings are the
tools' descriptions. Errors reach the caller as one sentence (gradio_client's AppError).
"""

from __future__ import annotations

import gradio as gr

from drafter.engines import registry as engines
from drafter.engines.registry import draft as draft_reply
from drafter.text import decode as textio
from drafter.web.handlers import problem


def rewrite(text: str, engine: str = "auto") -> dict:
    """Rewrite a Chinese customer-service draft into the house tone, every change explained and cited.

    Returns the RewriteResult JSON: original, rewritten, engine, changes (rule, start, end,
    before, after, explanation, citation {source, passage_id, quote}), flags and warnings.

    Args:
        text: the agent's draft (Chinese).
        engine: "auto" (the LLM when configured, else offline rules), "offline" or "llm".
    """
    try:
        textio.check_text(text)
        return engines.rewrite(text, engine or "auto").to_dict()
    except Exception as err:  # noqa: BLE001 - the edge: one sentence for the caller
        raise gr.Error(problem(err), title="出错了", print_exception=False) from None


def draft(message: str, channel: str = "chat", engine: str = "auto") -> dict:
    """Draft a reply to a customer's message, grounded in the team's manuals.

    Returns the DraftResult JSON: message, reply, channel, engine, situation, facts,
    citations, placeholders (【…】 for the agent to fill in), warnings and steps.

    Args:
        message: the customer's message.
        channel: "chat" or "email".
        engine: "auto" (the LLM when configured, else offline), "offline" or "llm".
    """
    try:
        textio.check_text(message, what="客户消息")
        return draft_reply(message, channel or "chat", engine or "auto").to_dict()
    except Exception as err:  # noqa: BLE001
        raise gr.Error(problem(err), title="出错了", print_exception=False) from None
