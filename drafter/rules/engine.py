"""The offline engine: the rule pack applied to a draft, every change explained and cited.

``rewrite(text)`` returns a RewriteResult whose changes are non-overlapping spans of the
original (``original[start:end] == before``) and whose ``rewritten`` is exactly the original
with every change applied. Facts (order numbers, amounts, dates, phones, URLs, names) are
never touched; words the agent quotes from the customer are flagged, not rewritten; a flag
whose rule protects its span blocks every change inside it (the agent rewrites the whole
phrase). ``check(text)`` lists the same hits as findings for pipelines.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from drafter.rules import pack as rulepack
from drafter.rules.model import Pattern, Rule, RulePack
from drafter.rules.zones import Zones, speech_zones
from drafter.state import current
from drafter.text import segment as tokenize
from drafter.text.decode import check_text, has_chinese
from drafter.text.facts import FactSpan, fact_spans
from drafter.text.script import S2T, T2S
from drafter.types import Change, Citation, Flag, RewriteResult, apply_changes

ENGINE = "offline"

# A rewrite must never create these where the original had none (可能是 -> 是 next to 是…,
# a clause ending in 的 + 的原因).
_FORBIDDEN = ("是是", "您您", "的的")

# jieba cuts each run of these characters on its own (its re_han_default), so tokenizing the
# run around a hit gives exactly the tokens of the whole text.
_HAN_RUN = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
# A rule's hits lie within this many characters of a match of its ``needs`` (see rules README).
NEEDS_MARGIN = 24
_MAX_WORD = 8  # longest dictionary word considered when testing whether a word spans an edge


def _count_script(text: str) -> tuple[int, int]:
    hant = sum(1 for ch in text if ch in T2S)
    hans = sum(1 for ch in text if ch in S2T)
    return hant, hans


class _Segmenter:
    """Word boundaries from jieba, computed lazily for the runs of text that hits touch."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._runs: dict[int, tuple[int, int, list[tuple[str, int, int]]]] = {}
        self._freq: dict[str, int] | None = None
        self._tokenizer: Any = None  # the active state's jieba, fetched once per draft

    def _run_at(self, pos: int) -> tuple[int, int, list[tuple[str, int, int]]]:
        hit = self._runs.get(pos)
        if hit is not None:
            return hit
        start = pos
        while start > 0 and _HAN_RUN.match(self.text, start - 1, start):
            start -= 1
        m = _HAN_RUN.match(self.text, start)
        end = m.end() if m else pos

        tokens = [
            (w, start + s, start + e)
            for w, s, e in self.tokenizer.tokenize(self.text[start:end], mode="default", HMM=True)
        ]
        run = (start, end, tokens)
        for i in range(start, end + 1):
            self._runs[i] = run
        return run

    @property
    def freq(self) -> dict[str, int]:
        if self._freq is None:
            self._freq = self.tokenizer.FREQ  # the configured tokenizer, user dictionary included
        return self._freq

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = tokenize._get()
        return self._tokenizer

    def _word_spans(self, pos: int) -> bool:
        """True when some dictionary word could contain both ``text[pos-1]`` and ``text[pos]``.

        jieba's prefix dictionary holds every word and every prefix of one, so this is an exact
        and cheap test: when no word spans the edge, no segmentation can put it inside a word.
        """
        text, freq = self.text, self.freq
        for i in range(max(0, pos - _MAX_WORD), pos):
            if text[i:pos] not in freq:
                continue
            for k in range(pos + 1, min(len(text), i + _MAX_WORD) + 1):
                piece = text[i:k]
                if piece not in freq:
                    break
                if freq[piece]:
                    return True
        return False

    def edge_ok(self, pos: int) -> bool:
        text = self.text
        if pos <= 0 or pos >= len(text):
            return True
        if not (_HAN_RUN.match(text, pos - 1, pos) and _HAN_RUN.match(text, pos, pos + 1)):
            return True
        if not self._word_spans(pos):
            return True
        _start, _end, tokens = self._run_at(pos)
        for word, s, e in tokens:
            if s < pos < e:
                # Inside a token: a dictionary word refuses the edge, a guess of jieba's HMM
                # for unknown characters (你查) does not.
                return not self.freq.get(word)
            if s >= pos:
                break
        return True

    def on_boundaries(self, start: int, end: int) -> bool:
        return self.edge_ok(start) and self.edge_ok(end)


@dataclass(frozen=True)
class _Hit:
    rule: Rule
    pattern: Pattern
    order: int  # index of the rule in the pack
    start: int
    end: int
    text: str
    after: str | None  # the replacement (substitution rules)

    @property
    def sort_key(self) -> tuple[int, int, int, int]:
        return (self.start, self.start - self.end, -self.rule.priority, self.order)


class _Spans:
    """Spans with a fast "does [start, end) overlap any of them" (spans may overlap each other)."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans = sorted(spans)
        self.starts = [s for s, _ in spans]
        self.max_end: list[int] = []
        best = -1
        for _, e in spans:
            best = max(best, e)
            self.max_end.append(best)

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect_left(self.starts, end)  # spans starting before ``end``
        return i > 0 and self.max_end[i - 1] > start


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _needs_windows(text: str, needs: re.Pattern[str]) -> list[tuple[int, int]]:
    """Merged windows of NEEDS_MARGIN characters around each match of a rule's ``needs``."""
    windows: list[tuple[int, int]] = []
    for m in needs.finditer(text):
        lo, hi = max(0, m.start() - NEEDS_MARGIN), min(len(text), m.end() + NEEDS_MARGIN)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def _in_zone(
    pattern: Pattern, start: int, end: int, zones: Zones, quoted: _Spans, reported: _Spans
) -> bool:
    """Whether ``pattern`` may hit [start, end) given who speaks there (Pattern.zones)."""
    if "group" in pattern.zones and not zones.group:
        return False
    inside = [
        z for z, spans in (("quoted", quoted), ("reported", reported)) if spans.overlaps(start, end)
    ]
    wanted = [z for z in pattern.zones if z != "group"]
    if wanted:
        return any(z in wanted for z in inside)
    return "reported" not in inside  # the customer's reported words are not rewritten


def _carries_facts(
    facts: list[FactSpan], start: int, end: int, before: str, after: str | None
) -> bool:
    """Whether a hit over facts leaves each of them as written: a flag marks the text without
    changing it; a rewrite that moves a clause (为什么扣了299元 -> 扣了299元的原因) must hold every
    fact it covers, whole and verbatim. A fact cut by the hit's edge is never carried."""
    inside = [f for f in facts if f.start < end and start < f.end]
    if any(f.start < start or f.end > end for f in inside):
        return False
    if after is None:
        return True
    return all(after.count(f.text) >= before.count(f.text) for f in inside)


def _find_hits(
    text: str,
    pack: RulePack,
    facts: list[FactSpan],
    doc_hant: bool,
    windowed: bool = True,
    zones: Zones | None = None,
    seg: _Segmenter | None = None,
) -> list[_Hit]:
    """Every hit of every rule that survives its exceptions, the facts and word boundaries.

    A rule with ``needs`` is searched only in windows around the matches of ``needs`` (every
    hit contains one, at most NEEDS_MARGIN characters from either end); ``windowed=False``
    searches the whole text, for tests.
    """
    seg = seg or _Segmenter(text)
    zones = zones or Zones()
    untouchable = _Spans(zones.untouchable)
    fact_index = _Spans([(f.start, f.end) for f in facts])
    quoted, reported = _Spans(zones.quoted), _Spans(zones.reported)
    hits: list[_Hit] = []
    whole = [(0, len(text))]
    chars = frozenset(text)
    for order, rule in enumerate(pack.rules):
        windows = whole if rule.needs is None or not windowed else _needs_windows(text, rule.needs)
        if not windows or (
            rule.needs is not None and not windowed and rule.needs.search(text) is None
        ):
            continue
        exceptions: _Spans | None = None
        patterns = []
        for p in rule.patterns:  # the prefilter, inlined: this loop runs for every pattern
            for needed in p.required:
                if needed.isdisjoint(chars):
                    break
            else:
                patterns.append(p)
        for pattern, (lo, hi) in ((p, w) for p in patterns for w in windows):
            for m in pattern.regex.finditer(text, lo, hi):
                start, end = m.span()
                if start == end:
                    continue
                if exceptions is None:
                    exceptions = _Spans(
                        [mm.span() for rx in rule.exceptions for mm in rx.finditer(text)]
                    )
                if exceptions.overlaps(start, end) or untouchable.overlaps(start, end):
                    continue
                if not _in_zone(pattern, start, end, zones, quoted, reported):
                    continue
                if rule.word_boundary and not (
                    seg.edge_ok(start) and (pattern.start_edge_only or seg.edge_ok(end))
                ):
                    continue
                after = None
                if pattern.replace is not None:
                    hant = doc_hant
                    if pattern.script_sensitive:
                        n_hant, n_hans = _count_script(m.group(0))
                        hant = n_hant > n_hans if n_hant != n_hans else doc_hant
                    after = pattern.render(m, hant)
                if fact_index.overlaps(start, end) and not _carries_facts(
                    facts, start, end, m.group(0), after
                ):
                    continue
                hits.append(_Hit(rule, pattern, order, start, end, m.group(0), after))
    return hits


def _greedy(hits: list[_Hit]) -> list[_Hit]:
    """Non-overlapping hits: leftmost first, then the longest, then priority, then pack order."""
    chosen: list[_Hit] = []
    last_end = -1
    for h in sorted(hits, key=lambda h: h.sort_key):
        if h.start >= last_end:
            chosen.append(h)
            last_end = h.end
    return chosen


def _merge_same_rule(text: str, hits: list[_Hit]) -> list[_Hit]:
    """Overlapping flag hits of one rule become one hit over their union (请您冷静 + 冷静一下)."""
    merged: list[_Hit] = []
    for h in sorted(hits, key=lambda h: (h.order, h.start, h.end)):
        last = merged[-1] if merged else None
        if last is not None and last.order == h.order and h.start < last.end:
            if h.end > last.end:
                merged[-1] = _Hit(
                    last.rule,
                    last.pattern,
                    last.order,
                    last.start,
                    h.end,
                    text[last.start : h.end],
                    last.after,
                )
            continue
        merged.append(h)
    return sorted(merged, key=lambda h: h.sort_key)


def _creates_forbidden(text: str, h: _Hit) -> bool:
    left, right = text[max(0, h.start - 2) : h.start], text[h.end : h.end + 2]
    new, old = left + (h.after or "") + right, left + h.text + right
    return any(new.count(f) > old.count(f) for f in _FORBIDDEN)


def _fmt(template: str | None, **values: str) -> str | None:
    return template.format(**values) if template else None


def _action(before: str, after: str) -> str:
    return f"删去“{before}”" if after == "" else f"把“{before}”改为“{after}”"


def _flag_for(h: _Hit, citation: Citation | None) -> Flag:
    rule, p = h.rule, h.pattern
    values = {"text": h.text, "after": h.after or ""}
    message = _fmt(p.message or rule.message, **values) or rule.description
    suggestion = _fmt(p.suggestion or rule.suggestion, **values)
    if suggestion is None and h.after is not None:
        suggestion = h.after
    return Flag(rule.id, h.start, h.end, h.text, message, suggestion, citation)


# A rewrite that moves a clause of the draft (为什么你把…扔了 -> 你把…扔了的原因) carries the
# clause's own words along; the rules are applied to them too (once), so no 你 is left behind.
_NESTED_MIN = 6


def _settled(after: str, pack: RulePack, depth: int) -> str:
    if depth > 0 or len(after) < _NESTED_MIN:
        return after
    if not any(r.needs is None or r.needs.search(after) for r in pack.rules if r.rewrites):
        return after  # nothing any rewrite rule could change
    inner = analyse(after, pack, depth=depth + 1)
    return inner.rewritten if inner.changes else after


def analyse(text: str, pack: RulePack, *, windowed: bool = True, depth: int = 0) -> RewriteResult:
    """Apply ``pack`` to ``text`` (already checked): the engine behind ``rewrite``."""
    warnings: list[str] = []
    if not has_chinese(text):
        warnings.append("草稿里没有中文：规则只适用于中文回复，原文未作改动（no Chinese text）。")
        return RewriteResult(text, text, ENGINE, [], [], warnings)

    facts = fact_spans(text)
    seg = _Segmenter(text)
    zones = speech_zones(text, edge_ok=seg.edge_ok)
    hant, hans = _count_script(text)
    hits = _find_hits(
        text, pack, facts, doc_hant=hant > hans, windowed=windowed, zones=zones, seg=seg
    )

    # Flags: existence rules and flag-only substitutions, outside the customer's own words.
    flags: list[Flag] = []
    protected: list[tuple[int, int]] = []
    kept: list[tuple[int, int]] = []
    quoted, reported = _Spans(zones.quoted), _Spans(zones.reported)
    for h in _merge_same_rule(text, [h for h in hits if not h.rule.rewrites]):
        if (
            quoted.overlaps(h.start, h.end)
            or reported.overlaps(h.start, h.end)
            or _inside(kept, h.start, h.end)
        ):
            continue
        kept.append((h.start, h.end))
        flags.append(_flag_for(h, pack.citation(h.rule.id)))
        if h.rule.protect:
            protected.append((h.start, h.end))

    # Changes: rewrite hits that leave every protected flag as written (outside it, or a
    # clause-moving rewrite that carries it whole: 排查为什么灰度…… -> 排查灰度……的原因).
    shielded = _Spans(protected)
    flagged = [FactSpan("flag", s, e, text[s:e]) for s, e in protected]
    candidates = [
        h
        for h in hits
        if h.rule.rewrites
        and (
            not shielded.overlaps(h.start, h.end)
            or _carries_facts(flagged, h.start, h.end, h.text, h.after)
        )
    ]
    changes: list[Change] = []
    for h in _greedy(candidates):
        citation = pack.citation(h.rule.id)
        if quoted.overlaps(h.start, h.end):
            continue  # the customer's own words, quoted (复述): left as written, not flagged
        if h.after == h.text or _creates_forbidden(text, h):
            continue
        after = _settled(h.after or "", pack, depth)
        template = h.pattern.explanation or h.rule.explanation
        assert template is not None  # a rewrite rule's file must give an explanation
        explanation = template.format(action=_action(h.text, after), before=h.text, after=after)
        changes.append(Change(h.rule.id, h.start, h.end, h.text, after, explanation, citation))

    flags.sort(key=lambda f: (f.start, f.end))
    fired = {c.rule for c in changes} | {f.rule for f in flags}
    for rule in pack.rules:
        if rule.id in fired and pack.citation(rule.id) is None:
            warnings.append(
                f"规则 {rule.id} 在已索引的手册里找不到依据（引文“{rule.evidence.quote}”未找到），"
                "相关改动和提示没有引文，请核对。"
            )
    return RewriteResult(text, apply_changes(text, changes), ENGINE, changes, flags, warnings)


def rewrite_offline(text: str) -> RewriteResult:
    """Rewrite a draft with the offline rules engine (engine ``"offline"``)."""
    with current().active():  # one look at the settings for the whole draft
        check_text(text)
        return analyse(text, rulepack.get_pack())


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class Finding:
    """A rule hit for linters: a change the engine would make, or a flag."""

    rule: str
    kind: str  # "change" | "flag"
    start: int
    end: int
    line: int  # 1-based
    col: int  # 1-based, in characters
    text: str
    message: str
    suggestion: str | None
    citation: Citation | None

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "line": self.line,
            "col": self.col,
            "text": self.text,
            "message": self.message,
            "suggestion": self.suggestion,
            "citation": self.citation.to_dict() if self.citation else None,
        }


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``offset``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def findings(result: RewriteResult) -> list[Finding]:
    """Every change and flag of ``result`` as findings, in text order."""
    out = []
    for c in result.changes:
        line, col = line_col(result.original, c.start)
        out.append(
            Finding(
                c.rule,
                "change",
                c.start,
                c.end,
                line,
                col,
                c.before,
                c.explanation,
                c.after,
                c.citation,
            )
        )
    for f in result.flags:
        line, col = line_col(result.original, f.start)
        out.append(
            Finding(
                f.rule,
                "flag",
                f.start,
                f.end,
                line,
                col,
                f.text,
                f.message,
                f.suggestion,
                f.citation,
            )
        )
    out.sort(key=lambda f: (f.start, f.end, f.kind))
    return out


def check(text: str) -> list[Finding]:
    """The findings of the offline rules on ``text`` (empty when the draft follows them)."""
    return findings(rewrite_offline(text))
