"""The engines a suite runs cases through: the offline rules, or the LLM engine live,
recording cassettes, or replaying them.

An engine answers ``rewrite(text, key)`` and ``draft(message, channel, key)`` with an
:class:`Outcome`: the result to score (or None, and why), its latency, tokens and cost.
``key`` names the case (``rewrite/<id>``…) so recordings can be traced to it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drafter.engines.llm import config, prompts
from drafter.engines.llm.call import ReplayMissError
from drafter.engines.llm.rewriting import rewrite_with_llm
from drafter.engines.registry import ENGINES
from drafter.errors import DrafterError
from drafter.evaluation.cassettes import Cassettes, ReplayError, cassettes_dir
from drafter.evaluation.prices import Prices
from drafter.knowledge.corpus import get_corpus
from drafter.state import current


@dataclass
class Outcome:
    """What one engine call gave a suite."""

    result: Any | None  # RewriteResult | DraftResult; None when there is nothing to score
    status: str = "ok"  # ok | fallback (the LLM failed, offline used) | missing | stale | error
    note: str = ""
    latency_ms: float = 0.0
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None

    def usage(self) -> dict:
        if self.model is None:
            return {}
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
        }


class OfflineEngine:
    """The rules engine and the offline composer."""

    name = "offline"
    model: str | None = None

    def rewrite(self, text: str, key: str) -> Outcome:
        return _timed(lambda: ENGINES["offline"].rewrite(text))

    def draft(self, message: str, channel: str, key: str) -> Outcome:
        return _timed(lambda: ENGINES["offline"].draft(message, channel))


def _timed(call: Callable[[], Any]) -> Outcome:
    started = time.perf_counter()
    try:
        result = call()
    except DrafterError as err:
        return Outcome(None, "error", str(err), _ms(started))
    return Outcome(result, "ok", "", _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def prompt_version(kind: str) -> str:
    """The version the LLM engine's prompts of ``kind`` carry, e.g. ``rewrite.system@1+rewrite.user@1``."""

    system, user = prompts.load(f"{kind}.system"), prompts.load(f"{kind}.user")
    return f"{system.name}@{system.version}+{user.name}@{user.version}"


class LLMEngine:
    """The LLM engine, live (``record``: saving cassettes) or replaying cassettes."""

    def __init__(
        self, mode: str, cassettes: Path | None = None, prices: Prices | None = None
    ) -> None:

        self.mode = mode  # live | record | replay
        self.name = "replay" if mode == "replay" else "llm"
        self.cassettes = Cassettes(cassettes if cassettes is not None else cassettes_dir())
        self.prices = prices
        self.recorded: dict[str, dict] = {}
        self.staging: Path | None = None
        if mode == "replay":
            if not self.cassettes.entries:
                raise ReplayError(
                    f"{self.cassettes.directory} 中没有录制（no cassettes）：请先用 "
                    "--engine llm --record 录制。"
                )
            self.model = self.cassettes.model or ""
        else:
            self.model = config.load().model  # NotConfiguredError names the variables
        if mode == "record":
            self.staging = Path(tempfile.mkdtemp(prefix="drafter-record-"))
        self.versions = {"rewrite": prompt_version("rewrite"), "draft": prompt_version("draft")}
        self.fingerprints = input_fingerprints()

    def _kwargs(self, key: str) -> dict:
        if self.mode == "replay":
            return {
                "model": self.cassettes.model_for(key),
                "cache_dir": self.cassettes.directory,
                "replay": True,
            }
        if self.mode == "record":
            return {"model": self.model, "cache_dir": self.staging}
        return {"model": self.model, "cache": True}  # evals always cache (DRAFTER_HOME/llm-cache)

    def _call(self, kind: str, key: str, data: str, call: Callable[[dict], Any]) -> Outcome:

        version = self.versions[kind]
        inputs = {
            "case": hashlib.sha256(data.encode("utf-8")).hexdigest()[:16],
            **self.fingerprints,
        }
        if kind == "rewrite":
            inputs.pop("drafting", None)
        before = set(os.listdir(self.staging)) if self.staging else set()
        kwargs = self._kwargs(key)
        started = time.perf_counter()
        try:
            result = call(kwargs)
        except ReplayMissError:
            status, note = self.cassettes.status(key, version, inputs)
            return Outcome(None, status, note, _ms(started), kwargs["model"])
        except DrafterError as err:
            return Outcome(None, "error", str(err), _ms(started), kwargs["model"])
        latency = _ms(started)
        if self.staging is not None:
            files = sorted(set(os.listdir(self.staging)) - before)
            self.recorded[key] = {
                "prompt": version,
                "model": self.model,
                "files": files,
                "inputs": inputs,
            }
        out = Outcome(result, "ok", "", latency, kwargs["model"])
        if not result.engine.startswith("llm:"):
            out.status = "fallback"
            out.note = result.warnings[-1] if result.warnings else "模型未被采用，结果来自离线引擎"
        elif self.mode == "replay" and self.cassettes.entries.get(key, {}).get("prompt") not in (
            None,
            version,
        ):
            out.status, out.note = self.cassettes.status(key, version, inputs)
        usage = getattr(result, "usage", None)
        if usage is not None:
            out.prompt_tokens, out.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        if self.prices is not None and out.model:
            out.cost = self.prices.cost(out.model, out.prompt_tokens, out.completion_tokens)
        return out

    def rewrite(self, text: str, key: str) -> Outcome:

        return self._call("rewrite", key, text, lambda kw: rewrite_with_llm(text, **kw))

    def draft(self, message: str, channel: str, key: str) -> Outcome:
        return self._call(
            "draft",
            key,
            f"{channel}\0{message}",
            lambda kw: draft_with_options(message, channel, **kw),
        )

    def finish(self, completed: bool) -> None:
        """After a recording run: save the cassettes and the manifest (only if it completed)."""
        if self.staging is None:
            return
        try:
            if completed:
                self.cassettes.save(self.recorded, self.staging, self.model)
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def draft_with_options(message: str, channel: str, **llm: Any) -> Any:
    """What ``draft(engine="llm")`` does, with the cache/replay options passed to the model."""
    return ENGINES["llm"].draft(message, channel, **llm)


def _fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def input_fingerprints() -> dict[str, str]:
    """Short hashes of what replies depend on besides the prompts: rules, manuals, phrases."""

    out = {
        "corpus": get_corpus().fingerprint,
        "rules": _fingerprint(list(current().rules_dir.glob("*.yaml"))),
    }
    drafting = current().knowledge_dir / "drafting.yaml"
    if drafting.is_file():
        out["drafting"] = _fingerprint([drafting])
    return out
