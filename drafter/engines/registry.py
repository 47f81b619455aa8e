"""Which engine runs: ``auto`` = the LLM when one is configured, else the offline rules.

Results always say which ran: ``engine`` is ``"offline"`` or ``"llm:<model>"``.
"""

from __future__ import annotations

from drafter.errors import InputError, NotConfiguredError
from drafter.types import RewriteResult

ENGINES = ("auto", "offline", "llm")


def llm_configured() -> tuple[bool, str]:
    """(True, "") when the LLM engine can run, else (False, why not, in one sentence)."""
    from drafter.engines.llm.config import configured

    return configured()


def resolve(engine: str) -> str:
    """``auto`` | ``offline`` | ``llm`` → the engine that will run (``offline`` or ``llm``)."""
    if engine not in ENGINES:
        raise InputError(f"引擎只能是 {' / '.join(ENGINES)}，而不是 {engine!r}。")
    if engine == "offline":
        return "offline"
    ok, _reason = llm_configured()
    if ok:
        return "llm"
    if engine == "llm":
        from drafter.engines.llm.config import load

        load()  # raises NotConfiguredError naming the variables to set
        raise NotConfiguredError("LLM 引擎未配置。")  # unreachable unless load() changes
    return "offline"


def rewrite(text: str, engine: str = "auto") -> RewriteResult:
    """Rewrite a draft with the chosen engine (the LLM one falls back to offline, warning)."""
    if resolve(engine) == "llm":
        from drafter.engines.llm.rewriting import rewrite_with_llm

        return rewrite_with_llm(text)
    from drafter.rules.engine import rewrite as offline_rewrite

    return offline_rewrite(text)
