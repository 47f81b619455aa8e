"""Masking personal data (phone and ID numbers, e-mail addresses, names) in stored text.

What is personal and how it is masked is data: knowledge/privacy.yaml. Every mask keeps the
length of what it hides (13812345678 -> 138****5678, 李华女士 -> 李*女士), so the offsets of an
agent's decisions stay true for the masked text, and masking is a function of the text alone,
so a phone number masked in the draft and in the final text is masked the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from drafter.knowledge.files import knowledge_file, read_model
from drafter.state import current


class _Pattern(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    regex: str
    keep: tuple[int, int] | None = None  # (head, tail) for this pattern, else the kind's


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    mask: str = Field("*", min_length=1, max_length=1)
    fact_kinds: list[str] = []
    patterns: list[_Pattern] = []
    keep_head: dict[str, int] = {}
    keep_tail: dict[str, int] = {}
    honorifics: list[str] = []
    title_prefixes: list[str] = []


@dataclass(frozen=True)
class Privacy:
    mask: str
    fact_kinds: frozenset[str]
    patterns: tuple[tuple[str, re.Pattern[str], tuple[int, int] | None], ...]
    keep_head: dict[str, int]
    keep_tail: dict[str, int]
    honorifics: tuple[str, ...]
    title_prefixes: tuple[str, ...]


def _build(spec: _Spec) -> Privacy:
    return Privacy(
        mask=spec.mask,
        fact_kinds=frozenset(spec.fact_kinds),
        patterns=tuple((p.kind, re.compile(p.regex), p.keep) for p in spec.patterns),
        keep_head=dict(spec.keep_head),
        keep_tail=dict(spec.keep_tail),
        honorifics=tuple(sorted(spec.honorifics, key=len, reverse=True)),
        title_prefixes=tuple(sorted(spec.title_prefixes, key=len, reverse=True)),
    )


def privacy() -> Privacy:
    path = knowledge_file("privacy.yaml")
    return current().artefact(
        "privacy", lambda: read_model(path, _Spec, "个人信息规则文件", _build)
    )


Span = tuple[str, int, int, "tuple[int, int] | None"]


def spans(text: str) -> list[Span]:
    """(kind, start, end, keep) of the personal data in ``text``, without overlaps, in order."""
    from drafter.text.facts import fact_spans

    p = privacy()
    found: list[Span] = [
        (f.kind, f.start, f.end, None) for f in fact_spans(text) if f.kind in p.fact_kinds
    ]
    for kind, pattern, keep in p.patterns:
        for m in pattern.finditer(text):
            group = "value" if "value" in pattern.groupindex else 0
            found.append((kind, m.start(group), m.end(group), keep))
    found.sort(key=lambda s: (s[1], -(s[2] - s[1])))
    out: list[Span] = []
    for span in found:
        if out and span[1] < out[-1][2]:
            if span[2] > out[-1][2]:  # overlapping: one span covering both
                out[-1] = (out[-1][0], out[-1][1], span[2], out[-1][3])
            continue
        out.append(span)
    return out


def _masked(kind: str, text: str, keep: tuple[int, int] | None, p: Privacy) -> str:
    before = after = ""
    if kind == "name":
        after = next((h for h in p.honorifics if text.endswith(h) and len(text) > len(h)), "")
        text = text[: len(text) - len(after)]
        before = next((t for t in p.title_prefixes if text.startswith(t)), "")
        text = text[len(before) :]
        lead = len(text) - len(text.lstrip())
        before, text = before + text[:lead], text[lead:]
    if kind == "email" and "@" in text:
        local, _, domain = text.partition("@")
        return _keep(local, 1, 0, p.mask) + "@" + domain
    head, tail = keep or (p.keep_head.get(kind, 0), p.keep_tail.get(kind, 0))
    return before + _keep(text, head, tail, p.mask) + after


def _keep(text: str, head: int, tail: int, mask: str) -> str:
    """``text`` with every letter or digit masked but the first ``head`` and the last
    ``tail`` of them (separators such as - and spaces stay, so the shape is kept)."""
    alnum = [i for i, ch in enumerate(text) if ch.isalnum()]
    if head + tail >= len(alnum):
        return text  # nothing left to hide (王先生: a surname and a title)
    hidden = set(alnum[head : len(alnum) - tail])
    return "".join(mask if i in hidden else ch for i, ch in enumerate(text))


def redact(text: str) -> str:
    """``text`` with its personal data masked (same length)."""
    p = privacy()
    pieces, at = [], 0
    for kind, start, end, keep in spans(text):
        pieces.append(text[at:start])
        pieces.append(_masked(kind, text[start:end], keep, p))
        at = end
    pieces.append(text[at:])
    return "".join(pieces)
