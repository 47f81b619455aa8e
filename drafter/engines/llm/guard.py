"""The meaning guard: a model's tone pass may change how the draft says things, not what.

Every aligned edit of the model's rewrite is checked against knowledge/guard.yaml. An edit
that adds a number, a link, an e-mail address, a phone number, markup, a promise or a
compensation, that adds or removes a negation (会 → 不会, 已 → 未) outside a phrase the rules
flagged, or that deletes a stretch of the draft, is put back to the draft's own words, and a
warning names it. A rewrite much shorter than the draft was cut off: it is rejected whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from drafter import settings
from drafter.engines.llm.align import Edit
from drafter.errors import RulePackError
from drafter.models.base import Strict, Style, issues
from drafter.state import current

GUARD_FILE = "guard.yaml"

LABELS = {
    "number": "数字或金额",
    "link": "链接",
    "email": "邮箱",
    "phone": "电话号码",
    "markup": "网页标记",
    "promise": "承诺或补偿",
    "negation": "否定词（意思反了）",
    "dropped": "删掉了草稿的内容",
}


class GuardFile(Strict):
    """knowledge/guard.yaml."""

    added: dict[str, str] = Field(description="what an edit may not add: name -> regex")
    negation: str = Field(description="regex of the negation words whose count must not change")
    min_length_ratio: float = Field(0.8, ge=0, le=1, description="shortest rewrite / draft")
    max_dropped_chars: int = Field(12, ge=1, description="longest deletion an edit may make")


@dataclass(frozen=True)
class Guard:
    added: dict[str, re.Pattern[str]]
    negation: re.Pattern[str]
    min_length_ratio: float
    max_dropped_chars: int


@dataclass(frozen=True)
class Review:
    text: str  # the rewrite with the edits that changed the meaning put back
    reverted: list[tuple[Edit, str]]  # each edit put back, with what it did (a LABELS key)

    def warnings(self) -> list[str]:
        if not self.reverted:
            return []
        kinds = "、".join(dict.fromkeys(LABELS[why] for _e, why in self.reverted))
        shown = "；".join(
            f"“{e.before or '（无）'}”→“{e.after or '（删去）'}”" for e, _why in self.reverted[:3]
        )
        more = "等" if len(self.reverted) > 3 else ""
        count = len(self.reverted)
        warning = (
            f"模型的改写里有 {count} 处改变了草稿的意思（{kinds}），已改回草稿原文：{shown}{more}"
            "（meaning changes reverted）。"
        )
        return [warning]


def load_guard(path: Path | None = None) -> Guard:
    if path is not None:
        return _read(path)
    return current().artefact("guard", lambda: _read(_guard_path()))


def _guard_path() -> Path:
    own = current().knowledge_dir / GUARD_FILE
    return own if own.is_file() else settings.bundled_knowledge_dir() / GUARD_FILE


def _read(path: Path) -> Guard:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = GuardFile.model_validate(raw)
        return Guard(
            {name: re.compile(rx) for name, rx in spec.added.items()},
            re.compile(spec.negation),
            spec.min_length_ratio,
            spec.max_dropped_chars,
        )
    except (OSError, UnicodeDecodeError, yaml.YAMLError, re.error) as err:
        raise RulePackError(f"无法读取改写检查文件 {path}（{type(err).__name__}）。") from None
    except ValidationError as err:
        style = Style(label=lambda loc: ".".join(str(p) for p in loc))
        found = "；".join(i.text for i in issues(err, GuardFile, style)[:3])
        raise RulePackError(f"改写检查文件 {path} 有问题：{found}") from None


def _count(rx: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in rx.finditer(text))


def what_it_does(e: Edit, guard: Guard, flagged: bool) -> str | None:
    """The LABELS key of the meaning change ``e`` makes, or None when it only changes tone.

    ``flagged``: the edit rewrites a phrase the rules flagged (你别急 → 您放心), where a
    negation may go; nothing may be added there either.
    """
    for name, rx in guard.added.items():
        if _count(rx, e.after) > _count(rx, e.before):
            return name
    if not flagged and _count(guard.negation, e.after) != _count(guard.negation, e.before):
        return "negation"
    if len(e.before) - len(e.after) > guard.max_dropped_chars:
        return "dropped"
    return None


def review(
    original: str, edits: list[Edit], flagged: list[tuple[int, int]], guard: Guard | None = None
) -> Review:
    """The rewrite (``edits`` applied to ``original``) with every meaning change put back."""
    guard = guard or load_guard()
    out: list[str] = []
    reverted: list[tuple[Edit, str]] = []
    pos = 0
    for e in edits:
        inside = any(s < max(e.end, e.start + 1) and e.start < t for s, t in flagged)
        why = what_it_does(e, guard, inside)
        out.append(original[pos : e.start])
        if why is None:
            out.append(e.after)
        else:
            out.append(e.before)
            reverted.append((e, why))
        pos = e.end
    out.append(original[pos:])
    return Review("".join(out), reverted)


def cut_off(original: str, candidate: str, guard: Guard | None = None) -> bool:
    """Whether ``candidate`` is far shorter than the draft (a truncated or gutted answer)."""
    guard = guard or load_guard()
    core_a, core_b = "".join(original.split()), "".join(candidate.split())
    return len(core_a) > 40 and len(core_b) < guard.min_length_ratio * len(core_a)
