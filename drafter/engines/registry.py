"""The engine registry: the one place that maps engine names to engine objects.

The CLI's ``--engine`` choices, the app's engine radio, the eval harness and ``--help`` read
`ENGINES`; adding an engine is adding an entry here. Results always say which engine ran:
``engine`` is ``"offline"`` or ``"llm:<model>"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drafter.drafting.composer import DraftResult, analyse_message, check_input
from drafter.engines.llm import config as llm_config
from drafter.engines.llm.drafting import draft_with_llm
from drafter.engines.llm.rewriting import rewrite_with_llm
from drafter.errors import InputError, NotConfiguredError
from drafter.rules.engine import rewrite_offline
from drafter.types import RewriteResult


@dataclass(frozen=True)
class Engine:
    """An engine: what it is called, where it is offered, how it rewrites and drafts."""

    name: str
    label: str  # what the app shows
    help: str  # what --help shows
    interactive: bool  # offered by `rewrite`, `draft` and the app
    evaluable: bool  # offered by `drafter eval`

    def available(self) -> tuple[bool, str]:
        """(True, "") when the engine can run now, else (False, why not, in one sentence)."""
        return True, ""

    def resolve(self) -> Engine:
        """The engine that actually runs (``auto`` picks one)."""
        return self

    def rewrite(self, text: str) -> RewriteResult:
        raise NotConfiguredError(f"引擎 {self.name} 只用于评测（drafter eval）。")

    def draft(
        self,
        message: str,
        channel: str = "chat",
        *,
        situation: str | None = None,
        **llm_options: Any,
    ) -> DraftResult:
        raise NotConfiguredError(f"引擎 {self.name} 只用于评测（drafter eval）。")


class OfflineEngine(Engine):
    def rewrite(self, text: str) -> RewriteResult:
        return rewrite_offline(text)

    def draft(
        self,
        message: str,
        channel: str = "chat",
        *,
        situation: str | None = None,
        **llm_options: Any,
    ) -> DraftResult:
        return analyse_message(message, channel, situation).offline


class LLMEngine(Engine):
    def available(self) -> tuple[bool, str]:
        return llm_config.configured()

    def _require(self) -> None:
        ok, _why = self.available()
        if not ok:
            llm_config.load()  # raises NotConfiguredError naming the variables to set
            raise NotConfiguredError("LLM 引擎未配置。")

    def rewrite(self, text: str) -> RewriteResult:
        self._require()
        return rewrite_with_llm(text)

    def draft(
        self,
        message: str,
        channel: str = "chat",
        *,
        situation: str | None = None,
        **llm_options: Any,
    ) -> DraftResult:
        if not llm_options:  # the eval harness passes its own cache/replay options
            self._require()
        inputs = analyse_message(message, channel, situation)
        # The model's reply is validated, toned and cited there; on any failure it is the
        # offline draft with a warning saying why.
        return draft_with_llm(
            message,
            channel,
            inputs.detection.situation,
            inputs.facts,
            inputs.passages(),
            inputs.offline,
            **llm_options,
        )


class AutoEngine(Engine):
    def resolve(self) -> Engine:
        llm = ENGINES["llm"]
        return llm if llm.available()[0] else ENGINES["offline"]

    def rewrite(self, text: str) -> RewriteResult:
        return self.resolve().rewrite(text)

    def draft(
        self,
        message: str,
        channel: str = "chat",
        *,
        situation: str | None = None,
        **llm_options: Any,
    ) -> DraftResult:
        return self.resolve().draft(message, channel, situation=situation)


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        AutoEngine("auto", "自动", "配置了 LLM 就用 LLM，否则离线规则（默认）", True, False),
        OfflineEngine("offline", "离线规则", "离线规则引擎：确定、不联网", True, True),
        LLMEngine("llm", "大模型", "只用配置的 LLM（OpenAI 兼容接口）", True, True),
        Engine(
            "replay", "回放", "评测用：回放 evals/cassettes 中录下的模型回复，不联网", False, True
        ),
    )
}


def names(*, interactive: bool | None = None, evaluable: bool | None = None) -> tuple[str, ...]:
    """Engine names, those offered interactively or in evals when asked."""
    return tuple(
        e.name
        for e in ENGINES.values()
        if (interactive is None or e.interactive == interactive)
        and (evaluable is None or e.evaluable == evaluable)
    )


def _choices(interactive: bool) -> tuple[str, ...]:
    return names(interactive=True) if interactive else names(evaluable=True)


def get(name: str, *, interactive: bool = True) -> Engine:
    """The engine called ``name``; InputError naming the choices when there is none."""
    choices = _choices(interactive)
    if name not in choices:
        raise InputError(f"引擎只能是 {' / '.join(choices)}，而不是 {name!r}。")
    return ENGINES[name]


def help_text(*, interactive: bool = True) -> str:
    """The --engine help line, from the registry."""
    return "；".join(f"{n}：{ENGINES[n].help}" for n in _choices(interactive))


def resolve(engine: str) -> str:
    """``auto`` | ``offline`` | ``llm`` → the engine that will run (``offline`` or ``llm``).

    NotConfiguredError for ``llm`` without configuration.
    """
    chosen = get(engine)
    if isinstance(chosen, LLMEngine):
        chosen._require()
    return chosen.resolve().name


def llm_configured() -> tuple[bool, str]:
    """(True, "") when the LLM engine can run, else (False, why not, in one sentence)."""
    return ENGINES["llm"].available()


def rewrite(text: str, engine: str = "auto") -> RewriteResult:
    """Rewrite a draft with the chosen engine (the LLM one falls back to offline, warning)."""
    return get(engine).rewrite(text)  # the llm engine refuses itself when not configured


def draft(
    message: str, channel: str = "chat", engine: str = "auto", *, situation: str | None = None
) -> DraftResult:
    """Draft a reply to ``message`` with the chosen engine."""
    chosen = get(engine)
    check_input(message, channel, situation)  # bad input is refused before any engine check
    return chosen.draft(message, channel, situation=situation)
