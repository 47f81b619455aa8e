"""Dataclasses at the library's boundaries. Everything here serialises with ``to_dict``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """A verbatim passage of an indexed manual."""

    source: str  # manual title
    passage_id: str
    quote: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A chunk of a cleaned manual, with its character offsets in that manual."""

    passage_id: str
    source: str  # manual title
    slug: str  # manual file stem in knowledge/manuals
    text: str
    start: int
    end: int
    score: float = 0.0

    def to_dict(self) -> dict:
        """The `drafter search --json` contract."""
        return {
            "passage_id": self.passage_id,
            "source": self.source,
            "text": self.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Change:
    """One rewrite: ``original[start:end] == before`` is replaced by ``after``."""

    rule: str
    start: int
    end: int
    before: str
    after: str
    explanation: str
    citation: Citation | None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citation"] = self.citation.to_dict() if self.citation else None
        return d


@dataclass(frozen=True)
class Flag:
    """A finding left for the agent to decide: no automatic rewrite."""

    rule: str
    start: int
    end: int
    text: str
    message: str
    suggestion: str | None
    citation: Citation | None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citation"] = self.citation.to_dict() if self.citation else None
        return d


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0


@dataclass
class RewriteResult:
    original: str
    rewritten: str
    engine: str  # "offline" | "llm:<model>"
    changes: list[Change] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    usage: Usage | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "original": self.original,
            "rewritten": self.rewritten,
            "engine": self.engine,
            "changes": [c.to_dict() for c in self.changes],
            "flags": [f.to_dict() for f in self.flags],
            "warnings": list(self.warnings),
        }
        if self.usage is not None:
            d["usage"] = asdict(self.usage)
        return d


def apply_changes(original: str, changes: list[Change]) -> str:
    """Apply non-overlapping changes (any order) to ``original``."""
    out, pos = [], 0
    for c in sorted(changes, key=lambda c: (c.start, c.end)):
        if c.start < pos or original[c.start : c.end] != c.before:
            raise ValueError(f"change {c.rule} at {c.start}:{c.end} does not fit the original")
        out.append(original[pos : c.start])
        out.append(c.after)
        pos = c.end
    out.append(original[pos:])
    return "".join(out)


@dataclass(frozen=True)
class ChangeGroup:
    """Identical changes (same rule, same text, same replacement) reviewed as one: 你 → 您 ×22."""

    rule: str
    before: str
    after: str
    explanation: str
    citation: Citation | None
    indices: tuple[int, ...]  # positions of the group's changes in the result's ``changes``

    @property
    def count(self) -> int:
        return len(self.indices)


def group_changes(changes: Sequence[Change]) -> list[ChangeGroup]:
    """The changes grouped by (rule, before, after), in the order each first appears."""
    order: dict[tuple[str, str, str], list[int]] = {}
    for i, c in enumerate(changes):
        order.setdefault((c.rule, c.before, c.after), []).append(i)
    return [
        ChangeGroup(
            rule, before, after, changes[ix[0]].explanation, changes[ix[0]].citation, tuple(ix)
        )
        for (rule, before, after), ix in order.items()
    ]


def carry_decisions(
    old: Sequence[Change], old_accepted: Sequence[bool], new: Sequence[Change]
) -> list[bool]:
    """Decisions for ``new`` changes (a rewrite run again on an edited draft) that keep the
    agent's earlier ones: a change the agent rejected stays rejected when the same change
    (rule, before, after) comes back; a change not seen before is accepted."""
    kept: dict[tuple[str, str, str], bool] = {}
    for c, ok in zip(old, old_accepted):
        key = (c.rule, c.before, c.after)
        kept[key] = kept.get(key, True) and bool(ok)  # rejected once in a group: rejected
    return [kept.get((c.rule, c.before, c.after), True) for c in new]


def expand_decisions(groups: Sequence[ChangeGroup], accepted: Sequence[bool], n: int) -> list[bool]:
    """Per-change decisions from per-group ones (a group's decision holds for all its changes)."""
    out = [True] * n
    for group, ok in zip(groups, accepted):
        for i in group.indices:
            out[i] = bool(ok)
    return out
