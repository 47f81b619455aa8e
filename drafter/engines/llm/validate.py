"""What a model's rewrite must pass before an agent sees it.

1. Facts: every order/ticket number, amount, date, phone, URL, e-mail (and name) of the
   draft is still in the rewrite — else the reply is rejected.
2. Mandated targets left over (你, 可能, 为什么...): the offline engine is applied on top.
3. Changes: spans come from aligning draft and rewrite (align.py); the model's before/after
   are hints, used for rule and explanation where they match an aligned span.
4. Citations: a model's passage_id + quote is kept only if the quote is verbatim in that
   passage; else the rule's verified evidence; an unverified quote is never emitted.
5. Scope: a reply that rewrote far more than the tone is rejected.

A rejection raises :class:`Rejected`, whose message is the warning the agent sees.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from drafter.engines.llm.align import Edit, similarity
from drafter.knowledge.corpus import Corpus, get_corpus
from drafter.models import llm as replies
from drafter.rules import pack as rulepack
from drafter.rules.engine import analyse
from drafter.text import fold
from drafter.text.facts import fact_spans
from drafter.types import Change, Citation, Flag, RewriteResult

# (5) Below guard.yaml's similarity and content kept, with more than SCOPE_SLACK characters
# changed, the model wrote another text. The slack spares short drafts, where one polite
# rephrasing (请你等一下 → 请您稍候) changes most characters.
SCOPE_SLACK = 12
FALLBACK_RULE = "tone"  # a change no rule of the pack accounts for

# The reply's model (drafter/models/llm.py) validates it and gives the schema sent.
REWRITE_SCHEMA: dict = replies.REWRITE_SCHEMA
STR_FIELDS = tuple(replies.ChangeHint.model_fields)


class Rejected(Exception):
    """The model's reply failed validation; ``str(err)`` is the warning for the agent."""

    def __init__(self, warning: str, cause: str) -> None:
        super().__init__(warning)
        self.cause = cause


@dataclass(frozen=True)
class Hint:
    """A change as the model (or the offline engine) described it."""

    before: str
    after: str
    rule: str = ""
    explanation: str = ""
    passage_id: str = ""
    quote: str = ""
    citation: Citation | None = None  # already verified (offline hints)
    start: int | None = None  # exact offsets into the original, when known
    end: int | None = None
    source: str = "model"  # "model" | "offline" | "repair"


@dataclass
class ModelRewrite:
    rewritten: str
    hints: list[Hint] = field(default_factory=list)


def parse_rewrite(data: dict) -> ModelRewrite:
    """The model's JSON as a ModelRewrite; TypeError when it is not the asked-for shape.

    Unknown keys are ignored (a change is only a hint); ``rewritten`` must be a non-empty
    string; a missing change field is "" and a non-string one is kept as text.
    """
    try:
        reply = replies.RewriteReply.model_validate(data)
    except ValidationError as err:
        raise TypeError(replies.reply_problem(err, replies.RewriteReply)) from None
    return ModelRewrite(reply.rewritten, [Hint(**c.model_dump()) for c in reply.changes])


# -- (1) facts -------------------------------------------------------------------------
def facts_of(text: str) -> list[str]:
    """The exact text of each fact of ``text`` (drafter.text.facts), each once."""

    return list(dict.fromkeys(s.text for s in fact_spans(text)))


def check_facts(facts: list[str], candidate: str) -> None:
    """Reject ``candidate`` unless it still contains every one of the draft's ``facts``."""
    from drafter.engines.llm.guard import load_guard

    guard = load_guard()
    written = guard.fact_form(candidate)
    # The same fact written another way (3块 → 3元, 9点 → 9:00) is kept.
    missing = [f for f in facts if f not in candidate and guard.fact_form(f) not in written]
    if missing:
        shown = "、".join(f"“{m}”" for m in missing[:3]) + ("等" if len(missing) > 3 else "")
        raise Rejected(
            f"模型改动了草稿中的事实（{shown}不见了），已改用离线引擎的结果（the model altered facts）。",
            "facts",
        )


# -- (5) scope -------------------------------------------------------------------------
def prose(text: str, facts: list[str]) -> str:
    """``text`` with each fact reduced to one mark: the scope check compares the wording."""
    for fact in sorted(facts, key=len, reverse=True):
        text = text.replace(fact, "\x00")
    return text


def check_scope(
    original: str, candidate: str, facts: list[str], loose: list[tuple[int, int]] | None = None
) -> float:
    """Reject ``candidate`` when it is another text: its wording (facts aside) is far from the
    draft's and it keeps little of what the draft is about (its content characters outside
    the ``loose`` spans, the phrases a good rewrite may drop)."""
    from drafter.engines.llm.guard import kept_share, load_guard

    guard = load_guard()
    a, b = prose(original, facts), prose(candidate, facts)
    ratio = similarity(a, b)
    matched = ratio * (len(a) + len(b)) / 2
    changed = len(a) + len(b) - 2 * matched
    if (
        ratio < guard.scope_min_similarity
        and changed > SCOPE_SLACK
        and kept_share(original, candidate, loose or []) < guard.scope_min_kept
    ):
        raise Rejected(
            f"模型改写的范围远超语气（与草稿的相似度只有 {ratio:.2f}），已改用离线引擎的结果"
            "（the model rewrote more than the tone）。",
            "scope",
        )
    return ratio


# -- (2) leftovers ---------------------------------------------------------------------
def repair(candidate: str) -> RewriteResult:
    """The offline engine run on the model's rewrite: its changes are what the model left."""

    return analyse(candidate, rulepack.get_pack())


# -- (4) citations ---------------------------------------------------------------------
def verified(passage_id: str, quote: str, corpus: Corpus | None = None) -> Citation | None:
    """A citation when ``quote`` is in passage ``passage_id`` — verbatim, or but for
    typography (width, quote marks, punctuation, spaces: a model retypes what it quotes) —
    quoting the passage's own text; else None."""
    quote = (quote or "").strip()
    if not passage_id or not quote:
        return None
    p = (corpus or get_corpus()).by_id.get(passage_id)
    span = fold.find(p.text, quote) if p is not None else None
    if p is None or span is None:
        return None
    return Citation(source=p.source, passage_id=p.passage_id, quote=p.text[span[0] : span[1]])


def still_true(citation: Citation | None, corpus: Corpus | None = None) -> Citation | None:
    """The citation if it still verifies against the corpus (the last guard), else None."""
    if citation is None:
        return None
    return citation if (corpus or get_corpus()).verify(citation) else None


# -- (3) changes -----------------------------------------------------------------------
def _touches(a0: int, a1: int, b0: int, b1: int) -> bool:
    if a0 == a1 or b0 == b1:  # an insertion touches what it borders
        return a0 <= b1 and b0 <= a1
    return a0 < b1 and b0 < a1


def _fit(h: Hint, e: Edit) -> int:
    """How well hint ``h``, placed over edit ``e``, accounts for it (1..4)."""
    if h.before == e.before and h.after == e.after:
        return 4
    if (h.after and (h.after in e.after or e.after in h.after)) or (not h.after and not e.after):
        return 3 if h.before in e.before or e.before in h.before else 2
    return 1


class HintIndex:
    """Hints by where they sit in the original: at their own offsets (the offline engine's)
    or wherever their ``before`` occurs (a model's), for quick lookup per edit."""

    def __init__(self, original: str, hints: list[Hint]) -> None:
        self.hints = list(dict.fromkeys(hints))  # a change repeated is one hint
        found: dict[str, list[int]] = {}
        entries: list[tuple[int, int, int]] = []
        for i, h in enumerate(self.hints):
            if h.start is not None and h.end is not None:
                entries.append((h.start, h.end, i))
                continue
            if not h.before:
                continue
            if h.before not in found:
                at, k = [], original.find(h.before)
                while k >= 0:
                    at.append(k)
                    k = original.find(h.before, k + 1)
                found[h.before] = at
            entries.extend((k, k + len(h.before), i) for k in found[h.before])
        entries.sort()
        self.entries = entries
        self.starts = [s for s, _, _ in entries]
        self.longest = max((t - s for s, t, _ in entries), default=0)

    def best(self, e: Edit) -> Hint | None:
        """The hint that best accounts for ``e``; on a tie the earliest given."""
        lo = bisect.bisect_left(self.starts, e.start - self.longest)
        hi = bisect.bisect_right(self.starts, e.end)
        best, key = None, (0, 0)
        for s, t, i in self.entries[lo:hi]:
            if _touches(s, t, e.start, e.end):
                k = (_fit(self.hints[i], e), -i)
                if best is None or k > key:
                    best, key = self.hints[i], k
        return best


@dataclass
class Built:
    changes: list[Change]
    dropped_quotes: int  # model quotes that were not verbatim in their passage


# What an edit nobody described does, read from the edit itself: (rule, what it did).
_YOU = re.compile(r"[你妳]")
_HEDGE = re.compile(r"可能|也许|也許|或许|或許|大概|估计|估計")
_WHY = re.compile(r"[为為](?:什|甚)[么麼麽]|[为為]啥|[为為]何|干[嘛吗么]|幹[嘛嗎麼]")
_MARKS_ONLY = re.compile(r"[\s\W_]*")


def classify_edit(e: Edit, flags: list[Flag]) -> tuple[str, str]:
    """The pack rule an edit serves and a sentence saying what it did, from the edit itself:
    the model is not asked to describe its changes, and is not believed when it does."""
    quoted = f"把“{e.before}”改为“{e.after}”" if e.before else f"加上“{e.after}”"
    if e.before and not e.after:
        quoted = f"删去“{e.before}”"
    for f in flags:
        if f.start < max(e.end, e.start + 1) and e.start < f.end:
            return f.rule, f"{quoted}：原句“{f.text}”是手册提醒避免的说法，这里换了说法。"
    if _WHY.search(e.before) and not _WHY.search(e.after):
        return "what-not-why", f"{quoted}：询问原因，不追问客户“为什么”。"
    if _HEDGE.search(e.before) and not _HEDGE.search(e.after):
        return "definite", f"{quoted}：用肯定的说法；这句话现在是在断言一个事实，发送前请先核实。"
    if _YOU.search(e.before) and "您" in e.after:
        return "polite-pronoun", f"{quoted}：称呼客户用“您”。"
    if _MARKS_ONLY.fullmatch(e.before) and _MARKS_ONLY.fullmatch(e.after):
        return FALLBACK_RULE, f"{quoted}：只调整了标点或空格。"
    return FALLBACK_RULE, f"{quoted}：模型按团队的语气要求改写了这一处，请核对。"


def build_changes(
    original: str,
    edits: list[Edit],
    hints: list[Hint],
    offline_hints: list[Hint],
    flags: list[Flag] | None = None,
) -> Built:
    """The aligned ``edits`` of ``original`` as changes, labelled from the hints and cited;
    an edit no hint accounts for is read for what it does (:func:`classify_edit`)."""

    pack = rulepack.get_pack()
    pack_rules = {r.id for r in pack.rules}
    corpus = get_corpus()
    model_index, offline_index = HintIndex(original, hints), HintIndex(original, offline_hints)
    changes: list[Change] = []
    dropped: set[int] = set()
    for e in edits:
        h = model_index.best(e)  # model hints first, then the repairs of the offline engine
        o = offline_index.best(e)
        rule = ""
        if h is not None and h.rule in pack_rules:
            rule = h.rule
        elif o is not None:
            rule = o.rule
        guessed = ""
        if not rule and not (h is not None and h.explanation.strip()):
            rule, guessed = classify_edit(e, flags or [])
        rule = rule or FALLBACK_RULE
        # A rule the offline engine fired here keeps the pack's vetted explanation (it says,
        # e.g., that a definite statement asserts a fact); the model explains the rest.
        explanation = (o.explanation if o is not None and o.rule == rule else "") or (
            h.explanation.strip() if h is not None else ""
        )
        citation = None
        if h is not None and h.citation is not None and h.rule == rule:
            citation = h.citation  # an offline engine's hint: verified when the pack loaded
        elif h is not None and (h.passage_id or h.quote):
            citation = verified(h.passage_id, h.quote, corpus)
            if citation is None:
                dropped.add(id(h))
        if citation is None and o is not None and o.rule == rule:
            citation = o.citation
        if citation is None and rule in pack_rules:
            citation = pack.citation(rule)  # the rule's evidence, verified when the pack loaded
        if not explanation:
            explanation = guessed or "模型按团队的语气要求改写了这一处，请核对。"
        changes.append(
            Change(
                rule, e.start, e.end, e.before, e.after, explanation, still_true(citation, corpus)
            )
        )
    return Built(changes, len(dropped))


def hints_of(result: RewriteResult, source: str, exact: bool) -> list[Hint]:
    """The offline engine's changes as hints (``exact``: their offsets are in the original)."""
    return [
        Hint(
            c.before,
            c.after,
            c.rule,
            c.explanation,
            citation=c.citation,
            start=c.start if exact else None,
            end=c.end if exact else None,
            source=source,
        )
        for c in result.changes
    ]


# -- flags -----------------------------------------------------------------------------
def map_flags(original: str, edits: list[Edit], flags: list[Flag]) -> tuple[list[Flag], list[Flag]]:
    """Flags found on the rewrite moved onto ``original`` where the ``edits`` left their text
    alone; the second list holds those inside text the model wrote (no place in the original)."""
    kept, new = [], []
    for f in flags:
        shift = 0
        placed = None
        for e in edits:
            if e.new_end <= f.start:
                shift = (e.end - e.start) - (e.new_end - e.new_start) + shift
                continue
            if e.new_start >= f.end:
                break
            placed = False  # the flag touches text the model wrote
            break
        if placed is None:
            start, end = f.start + shift, f.end + shift
            if original[start:end] == f.text:
                kept.append(Flag(f.rule, start, end, f.text, f.message, f.suggestion, f.citation))
                continue
        new.append(f)
    return kept, new
