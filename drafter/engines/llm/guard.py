"""The meaning guard: a model's tone pass may change how the draft says things, not what.

Every aligned edit of the model's rewrite is checked against knowledge/guard.yaml. An edit
that adds a number, a link, an e-mail address, a phone number, markup, a promise or a
compensation, that adds or removes a negation (会 → 不会, 已 → 未) outside a phrase the rules
flagged, or that deletes a stretch of the draft, is put back to the draft's own words, and a
warning names it. A rewrite much shorter than the draft was cut off: it is rejected whole.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from drafter.engines.llm.align import Edit
from drafter.knowledge.files import knowledge_file, read_model
from drafter.models.base import Strict
from drafter.state import current

GUARD_FILE = "guard.yaml"
# Rules whose hits a good rewrite may rephrase whole, negation included.
REPHRASED = frozenset({"what-not-why"})

LABELS = {
    "number": "数字或金额",
    "link": "链接",
    "email": "邮箱",
    "phone": "电话号码",
    "markup": "网页标记",
    "promise": "承诺或补偿",
    "negation": "否定词（意思反了）",
    "status": "办理状态（已经……）",
    "pending": "办理状态（尚未/还在等……）",
    "time": "时间承诺",
    "dropped": "删掉了草稿的内容",
    "replaced": "换掉了草稿说的事物",
}


Pair = Annotated[list[str], Field(min_length=2, max_length=2)]


class KeptNouns(Strict):
    tags: list[str] = Field(description="jieba part-of-speech tags read as nouns")
    light: list[str] = Field([], description="nouns with no content of their own (时候, 东西)")
    min_lost: int = Field(2, ge=1, description="nouns lost from a sentence that put it back")


class GuardFile(Strict):
    """knowledge/guard.yaml."""

    added_values: dict[str, str] = Field(
        description="values a rewrite may not bring in when the draft has none like them"
    )
    added: dict[str, str] = Field(description="what a sentence may not gain: name -> regex")
    equivalents: list[Pair] = Field(
        [], description="(regex, token): one meaning written several ways, read as the token"
    )
    done: str = Field(description="regex: the draft sentence says the thing is done")
    kept: dict[str, str] = Field(
        description="what a sentence must keep as many of (negations, 已经/尚未): name -> regex"
    )
    kept_nouns: KeptNouns
    fact_forms: list[Pair] = Field(
        [], description="(regex, replacement): one fact written another way (3块 = 3元)"
    )
    min_length_ratio: float = Field(0.8, ge=0, le=1, description="shortest rewrite / draft")
    max_dropped_chars: int = Field(12, ge=1, description="longest deletion an edit may make")
    scope_min_similarity: float = Field(0.5, ge=0, le=1)
    scope_min_kept: float = Field(0.35, ge=0, le=1)


@dataclass(frozen=True)
class Guard:
    added_values: dict[str, re.Pattern[str]]
    added: dict[str, re.Pattern[str]]
    equivalents: list[tuple[re.Pattern[str], str]]
    done: re.Pattern[str]
    kept: dict[str, re.Pattern[str]]
    noun_tags: frozenset[str]
    light_nouns: frozenset[str]
    min_nouns_lost: int
    fact_forms: list[tuple[re.Pattern[str], str]]
    min_length_ratio: float
    max_dropped_chars: int
    scope_min_similarity: float
    scope_min_kept: float

    def fact_form(self, text: str) -> str:
        """``text`` with each fact in one form (width folded, 3块 → 3元, 9点 → 9:00)."""
        out = unicodedata.normalize("NFKC", text)
        for rx, replacement in self.fact_forms:
            out = rx.sub(replacement, out)
        return out

    def canonical(self, text: str) -> str:
        """``text`` with each meaning written several ways in one form (无法/没法 → 〔不能〕)."""
        for rx, token in self.equivalents:
            text = rx.sub(token, text)
        return text


@dataclass(frozen=True)
class Review:
    text: str  # the rewrite with the edits that changed the meaning put back
    reverted: list[tuple[str, str, str]]  # (draft sentence, model's sentence, LABELS key)

    def warnings(self) -> list[str]:
        if not self.reverted:
            return []
        kinds = "、".join(dict.fromkeys(LABELS.get(why, why) for _b, _a, why in self.reverted))
        shown = "；".join(f"“{a or '（删去）'}”" for _b, a, _why in self.reverted[:3])
        more = "等" if len(self.reverted) > 3 else ""
        count = len(self.reverted)
        warning = (
            f"模型的改写里有 {count} 句改变了草稿的意思（{kinds}），已改回草稿原文：{shown}{more}"
            "（meaning changes reverted）。"
        )
        return [warning]


def load_guard(path: Path | None = None) -> Guard:
    if path is not None:
        return _read(path)
    return current().artefact("guard", lambda: _read(_guard_path()))


def _guard_path() -> Path:
    return knowledge_file(GUARD_FILE)


def _read(path: Path) -> Guard:
    return read_model(path, GuardFile, "改写检查文件", _build)


def _build(spec: GuardFile) -> Guard:
    return Guard(
        added_values={name: re.compile(rx) for name, rx in spec.added_values.items()},
        added={name: re.compile(rx) for name, rx in spec.added.items()},
        equivalents=[(re.compile(rx), token) for rx, token in spec.equivalents],
        done=re.compile(spec.done),
        kept={name: re.compile(rx) for name, rx in spec.kept.items()},
        noun_tags=frozenset(spec.kept_nouns.tags),
        light_nouns=frozenset(spec.kept_nouns.light),
        min_nouns_lost=spec.kept_nouns.min_lost,
        fact_forms=[(re.compile(rx), rep) for rx, rep in spec.fact_forms],
        min_length_ratio=spec.min_length_ratio,
        max_dropped_chars=spec.max_dropped_chars,
        scope_min_similarity=spec.scope_min_similarity,
        scope_min_kept=spec.scope_min_kept,
    )


def _count(rx: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in rx.finditer(text))


def nouns(text: str, guard: Guard) -> set[str]:
    """The nouns of ``text`` (two characters or more), by jieba's part-of-speech tags."""
    from drafter.text.segment import tagged

    return {
        w
        for w, tag in tagged(text)
        if tag in guard.noun_tags and len(w) > 1 and w not in guard.light_nouns
    }


def what_it_does(
    before: str,
    after: str,
    guard: Guard,
    firm: tuple[str, str],
    draft: str = "",
    rewrite: str = "",
) -> str | None:
    """The LABELS key of the meaning change from ``before`` to ``after`` (sentences of the
    draft and of its rewrite), or None when only the tone changed.

    ``firm``: the same two texts without the phrases a good rewrite may turn around (a
    flagged 你别急, a why-question the rules rephrase): negations, 已经/尚未, nouns and length
    are compared there; nothing may be added anywhere. ``draft`` and ``rewrite``: the whole
    texts: a value the draft gives elsewhere is not new, and a noun the rewrite moved to
    another sentence is not lost.
    """
    draft = draft or before
    rewrite = rewrite or after
    known = guard.fact_form(draft)
    for name, rx in guard.added_values.items():
        if any(m.group(0) not in known for m in rx.finditer(guard.fact_form(after))):
            return name
    for name, rx in guard.added.items():
        if _count(rx, after) > _count(rx, before):
            return name
    firm_before, firm_after = (guard.canonical(t) for t in firm)  # for counting only
    for name, rx in guard.kept.items():
        was, now = _count(rx, firm_before), _count(rx, firm_after)
        if name == "status" and (
            (now > was and guard.done.search(firm_before))
            or (now < was and guard.done.search(firm_after))
        ):
            continue  # 修好了 → 已修好: the same state, said another way
        if was != now:
            return name
    if len(firm[0]) - len(firm[1]) > guard.max_dropped_chars:
        return "dropped"
    lost = {w for w in nouns(firm[0], guard) if w not in rewrite}
    if len(lost) >= guard.min_nouns_lost:
        return "replaced"
    return None


_CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters any rewording adds or drops: not what a draft is about.
_FUNCTION = frozenset(
    "的了是在我您你们他她它这那就都也还要会能可以把被给和与及或而且但吗呢吧啊哦哈呀嘛啦一个些有没不"
)

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def _sentences(text: str) -> list[int]:
    """The start of each sentence of ``text`` (the first is 0)."""
    return [0, *(m.start() for m in _SENTENCE_END.finditer(text) if 0 < m.start() < len(text))]


def _outside(text: str, start: int, end: int, loose: list[tuple[int, int]]) -> str:
    """``text[start:end]`` without the characters inside ``loose`` spans."""
    return "".join(text[i] for i in range(start, end) if not any(s <= i < t for s, t in loose))


def review(
    original: str, edits: list[Edit], loose: list[tuple[int, int]], guard: Guard | None = None
) -> Review:
    """The rewrite (``edits`` applied to ``original``) with every sentence whose meaning the
    model changed put back whole: reverting the one edit could leave a broken splice when
    the model rephrased the sentence around it."""
    guard = guard or load_guard()
    rewrite = apply(original, edits)
    starts = _sentences(original)
    groups: list[list[Edit]] = []
    spans: list[list[int]] = []
    for e in edits:
        first = bisect.bisect_right(starts, max(0, min(e.start, len(original) - 1))) - 1
        last = bisect.bisect_right(starts, max(0, max(e.start, e.end - 1))) - 1
        lo = starts[first]
        hi = starts[last + 1] if last + 1 < len(starts) else len(original)
        if spans and lo < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], hi)
            groups[-1].append(e)
        else:
            spans.append([lo, hi])
            groups.append([e])
    out: list[str] = []
    reverted: list[tuple[str, str, str]] = []
    pos = 0
    for (lo, hi), group in zip(spans, groups, strict=True):
        before = original[lo:hi]
        pieces, at = [], lo
        firm_before: list[str] = []
        firm_after: list[str] = []
        for e in group:
            kept = _outside(original, at, e.start, loose)
            pieces.append(original[at : e.start])
            firm_before.append(kept)
            firm_after.append(kept)
            pieces.append(e.after)
            if not any(s < max(e.end, e.start + 1) and e.start < t for s, t in loose):
                firm_before.append(e.before)
                firm_after.append(e.after)
            at = e.end
        kept = _outside(original, at, hi, loose)
        pieces.append(original[at:hi])
        firm_before.append(kept)
        firm_after.append(kept)
        after = "".join(pieces)
        firm = ("".join(firm_before), "".join(firm_after))
        why = what_it_does(before, after, guard, firm, original, rewrite)
        out.append(original[pos:lo])
        if why is None:
            out.append(after)
        else:
            out.append(before)
            reverted.append((before.strip(), after.strip(), why))
        pos = hi
    out.append(original[pos:])
    return Review("".join(out), reverted)


def apply(original: str, edits: list[Edit]) -> str:
    """``original`` with ``edits`` (sorted, non-overlapping) applied."""
    out, at = [], 0
    for e in edits:
        out.append(original[at : e.start])
        out.append(e.after)
        at = e.end
    out.append(original[at:])
    return "".join(out)


def kept_share(original: str, candidate: str, loose: list[tuple[int, int]]) -> float:
    """The share of the draft's content characters (CJK, outside ``loose`` spans, function
    characters aside) that ``candidate`` still has, counted as a bag."""
    have = Counter(ch for ch in candidate if _CJK.match(ch))
    want = Counter(
        ch
        for ch in _outside(original, 0, len(original), loose)
        if _CJK.match(ch) and ch not in _FUNCTION
    )
    total = sum(want.values())
    return 1.0 if not total else sum(min(n, have[ch]) for ch, n in want.items()) / total


def cut_off(original: str, candidate: str, guard: Guard | None = None) -> bool:
    """Whether ``candidate`` is far shorter than the draft (a truncated or gutted answer)."""
    guard = guard or load_guard()
    core_a, core_b = "".join(original.split()), "".join(candidate.split())
    return len(core_a) > 40 and len(core_b) < guard.min_length_ratio * len(core_a)
