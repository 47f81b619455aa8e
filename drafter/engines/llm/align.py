"""Character alignment of a draft and its rewrite into word-sized edit spans.

Whatever a model says it changed, the spans shown to the agent come from here, so they
always honour the offset contract: ``original[start:end] == before`` and applying every
span to ``original`` yields exactly the rewrite.

The diff is difflib.SequenceMatcher on characters (autojunk off: in Chinese every frequent
character matters). Without autojunk it is quadratic on long repetitive text, so a long text
is first matched sentence by sentence (then clause by clause) and the character diff runs
only where they differ — each rewritten sentence against its counterpart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

# Two edits separated by at most this many unchanged characters become one change, unless
# the characters between them include punctuation or a space (a phrase boundary).
MERGE_GAP = 2
_WORDCHAR = re.compile(r"[A-Za-z0-9_]")
# Units a long text is matched by before any character diff: sentences, then clauses.
_LEVELS = (re.compile(r"(?<=[。！？!?；;\n])"), re.compile(r"(?<=[，,、：:])"))
# Above this len(a) * len(b), a changed block is one edit rather than a character diff
# (about 0.3 s on the worst, repetitive text; a text rewritten whole is out of scope anyway).
CHAR_DIFF_BUDGET = 1_000_000


@dataclass(frozen=True)
class Edit:
    start: int  # offsets into the original
    end: int
    before: str
    after: str
    new_start: int  # offsets into the rewrite
    new_end: int


def _is_boundary(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZ"


Block = tuple[int, int, int, int]  # a[i1:i2] became b[j1:j2]


def _char_blocks(a: str, b: str, ao: int, bo: int, out: list[Block]) -> None:
    """Append the changed blocks of a character diff of ``a`` and ``b`` (offsets ao, bo)."""
    p = 0
    while p < len(a) and p < len(b) and a[p] == b[p]:
        p += 1
    s = 0
    while s < len(a) - p and s < len(b) - p and a[-1 - s] == b[-1 - s]:
        s += 1
    a2, b2 = a[p : len(a) - s], b[p : len(b) - s]
    if not a2 and not b2:
        return
    base_a, base_b = ao + p, bo + p
    if not a2 or not b2 or len(a2) * len(b2) > CHAR_DIFF_BUDGET:
        out.append((base_a, base_a + len(a2), base_b, base_b + len(b2)))
        return
    sm = SequenceMatcher(None, a2, b2, autojunk=False)
    out.extend(
        (base_a + i1, base_a + i2, base_b + j1, base_b + j2)
        for tag, i1, i2, j1, j2 in sm.get_opcodes()
        if tag != "equal"
    )


def _units(text: str, level: int) -> tuple[list[str], list[int]]:
    """The pieces of ``text`` at ``level`` (they join back into it) and their offsets."""
    units = [u for u in _LEVELS[level].split(text) if u]
    offsets = [0]
    for u in units:
        offsets.append(offsets[-1] + len(u))
    return units, offsets


def _diff(a: str, b: str, ao: int, bo: int, out: list[Block], level: int = 0) -> None:
    """Append the changed blocks turning ``a`` into ``b``: units first, characters last."""
    if a == b:
        return
    if level == len(_LEVELS) or len(a) * len(b) <= 10_000:  # short: characters at once
        _char_blocks(a, b, ao, bo, out)
        return
    ua, oa = _units(a, level)
    ub, ob = _units(b, level)
    if len(ua) <= 1 or len(ub) <= 1:
        _diff(a, b, ao, bo, out, level + 1)
        return
    # Units repeated all over a long text (autojunk: >1% of 200+ units) are not used as
    # anchors; the blocks around them still pair up unit by unit below.
    sm = SequenceMatcher(None, ua, ub, autojunk=True)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        if i2 - i1 == j2 - j1:  # as many units on each side: each against its counterpart
            for k in range(i2 - i1):
                _diff(ua[i1 + k], ub[j1 + k], ao + oa[i1 + k], bo + ob[j1 + k], out, level + 1)
        else:
            _diff(a[oa[i1] : oa[i2]], b[ob[j1] : ob[j2]], ao + oa[i1], bo + ob[j1], out, level + 1)


def _opcodes(a: str, b: str) -> list[Block]:
    """The changed blocks turning ``a`` into ``b``, in order."""
    out: list[Block] = []
    _diff(a, b, 0, 0, out)
    return out


def _merge(a: str, blocks: list[Block]) -> list[list[int]]:
    merged: list[list[int]] = []
    for i1, i2, j1, j2 in blocks:
        if merged:
            last = merged[-1]
            gap = a[last[1] : i1]
            if len(gap) <= MERGE_GAP and not any(_is_boundary(ch) for ch in gap):
                last[1], last[3] = i2, j2
                continue
        merged.append([i1, i2, j1, j2])
    return merged


def _word(ch: str) -> bool:
    return bool(_WORDCHAR.match(ch))


def _widen(a: str, b: str, span: list[int]) -> None:
    """Grow a span over the rest of a Latin word or number it cuts (12345 → 12346 whole)."""
    i1, i2, j1, j2 = span

    def inside_left() -> bool:
        return (i1 < i2 and _word(a[i1])) or (j1 < j2 and _word(b[j1]))

    def inside_right() -> bool:
        return (i1 < i2 and _word(a[i2 - 1])) or (j1 < j2 and _word(b[j2 - 1]))

    while i1 > 0 and j1 > 0 and a[i1 - 1] == b[j1 - 1] and _word(a[i1 - 1]) and inside_left():
        i1 -= 1
        j1 -= 1
    while i2 < len(a) and j2 < len(b) and a[i2] == b[j2] and _word(a[i2]) and inside_right():
        i2 += 1
        j2 += 1
    span[:] = [i1, i2, j1, j2]


def align(original: str, rewritten: str) -> list[Edit]:
    """The edits that turn ``original`` into ``rewritten``, in order, non-overlapping."""
    if original == rewritten:
        return []
    spans = _merge(original, _opcodes(original, rewritten))
    for span in spans:
        _widen(original, rewritten, span)
    # Widening can make neighbours touch or overlap: fuse them.
    fused: list[list[int]] = []
    for span in spans:
        if fused and span[0] <= fused[-1][1]:
            fused[-1][1] = max(fused[-1][1], span[1])
            fused[-1][3] = max(fused[-1][3], span[3])
        else:
            fused.append(span)
    return [Edit(i1, i2, original[i1:i2], rewritten[j1:j2], j1, j2) for i1, i2, j1, j2 in fused]


def similarity(original: str, rewritten: str) -> float:
    """Share of the two texts that is unchanged, 0..1 (as SequenceMatcher.ratio counts it)."""
    if not original and not rewritten:
        return 1.0
    changed = sum(i2 - i1 for i1, i2, _j1, _j2 in _opcodes(original, rewritten))
    return 2 * (len(original) - changed) / (len(original) + len(rewritten))
