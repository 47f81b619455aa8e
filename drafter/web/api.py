"""The named API endpoints ``/rewrite`` and ``/draft`` (gradio_client, scripts, MCP tools).

Each takes the text as its first parameter (the others have defaults) and returns the JSON
contract of DESIGN.md. The function names are the MCP tool names; the docstrings are the
tools' descriptions. Errors reach the caller as one sentence (gradio_client's AppError).
"""

from __future__ import annotations

import threading
from collections import deque

import gradio as gr

from drafter.engines import registry as engines
from drafter.engines.registry import draft as draft_reply
from drafter.text import decode as textio
from drafter.web.handlers import problem

# Each REST call (and each MCP tool call) is a gradio session of its own, whose state gradio
# keeps until 10,000 sessions have followed (~190 KB each): the app grew to 2 GB. The API is
# stateless, so a call's session is dropped once a few later calls have finished (its own
# event is over by then); the page's sessions are not touched.
API_SESSIONS_KEPT = 32
_blocks: list[gr.Blocks] = []
_finished: deque[str] = deque()
_lock = threading.Lock()


def serve_stateless(app: gr.Blocks) -> None:
    """The API functions forget their sessions in ``app`` (called by build_app)."""
    _blocks[:] = [app]


def _forget() -> None:
    """Drop the session of the call being answered, once a few later calls have finished.

    The request comes from gradio's context, not a ``gr.Request`` parameter: such a parameter
    changes the endpoint's signature (a REST call with the text alone was refused)."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    session = getattr(request, "session_hash", None)
    if not session or not _blocks:
        return
    holder = _blocks[0].state_holder
    with _lock:
        _finished.append(session)
        while len(_finished) > API_SESSIONS_KEPT:
            old = _finished.popleft()
            with holder.lock:
                holder.session_data.pop(old, None)
                holder.time_last_used.pop(old, None)


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
    finally:
        _forget()


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
    finally:
        _forget()
