"""Offline situation detection: which of the drafting pack's situations a message is.

Detection scores each situation by its cue words in the message (a decisive pattern settles
it). Abuse or flirting with no real issue in it is harassment; beside a real issue (a topic, a
fact, another situation's cue) the issue decides and the customer is marked upset. When the
best scores tie, the manuals' passages retrieved for the message break the tie (a passage that
holds a situation's own heading votes for it), then the pack's order. No cue at all: question.
The situations, their cue words and weights come from the pack (drafter/drafting_pack.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drafter.drafting.pack import CUE, Pack, load_pack
from drafter.errors import DrafterError


@dataclass
class Detection:
    """What the message is, and why."""

    situation: str
    scores: dict[str, int] = field(default_factory=dict)
    cues: dict[str, list[str]] = field(default_factory=dict)  # situation -> cue words found
    topic: str | None = None
    angry: bool = False
    complex: bool = False
    instruction: list[str] = field(default_factory=list)  # instruction-like words found
    tie_broken_by: str | None = None  # "retrieval" | "priority" | None


def _contains(text: str, lowered: str, word: str) -> bool:
    return (word.lower() in lowered) if word.isascii() else (word in text)


def find_topic(pack: Pack, text: str) -> str | None:
    """The label of the topic mentioned first in ``text``."""
    best: tuple[int, int, str] | None = None
    lowered = text.lower()
    for order, t in enumerate(pack.topics):
        for cue in t.cues:
            pos = lowered.find(cue.lower()) if cue.isascii() else text.find(cue)
            if pos >= 0 and (best is None or (pos, order) < best[:2]):
                best = (pos, order, t.label)
    return best[2] if best else None


def score(pack: Pack, text: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Cue scores per situation, and the cue words that scored."""
    lowered = text.lower()
    scores: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    for s in pack.situations.values():
        total = 0
        words: list[str] = []
        # A longer cue that matched hides the shorter ones inside it (谢谢你们 vs 谢谢).
        for word, weight in sorted(s.cues, key=lambda cw: -len(cw[0])):
            if _contains(text, lowered, word) and not any(word in w for w in words):
                total += weight
                words.append(word)
        for rx, weight in s.patterns:
            m = rx.search(text)
            if m:
                total += weight
                words.append(m.group(0))
        scores[s.id] = total
        found[s.id] = words
    return scores, found


def _retrieval_votes(pack: Pack, text: str, candidates: list[str]) -> dict[str, float]:
    """Reciprocal-rank votes of the passages retrieved for ``text`` holding a candidate's heading."""
    from drafter.retrieval.hybrid import search

    votes = {sid: 0.0 for sid in candidates}
    for rank, p in enumerate(search(text, k=8)):
        for sid in candidates:
            if pack.situations[sid].manual.quote in p.text:
                votes[sid] += 1.0 / (rank + 1)
    return votes


def detect(
    text: str, *, facts_count: int = 0, pack: Pack | None = None, use_retrieval: bool = True
) -> Detection:
    """The situation of a customer message, found offline from cue words (and the manuals)."""
    pack = pack or load_pack()
    scores, found = score(pack, text)
    lowered = text.lower()
    topic = find_topic(pack, text)
    det = Detection(situation="question", scores=scores, cues=found, topic=topic)
    det.angry = any(_contains(text, lowered, w) for w in pack.angry_cues)
    det.instruction = [w for w in pack.instruction_cues if _contains(text, lowered, w)]
    if det.instruction and pack.instruction_situation:
        scores[pack.instruction_situation] += CUE
        found[pack.instruction_situation].append(det.instruction[0])

    # Harassment-like words with a real issue beside them: the issue decides, the words only
    # tell that the customer is angry.
    for s in pack.situations.values():
        if s.only_without_substance and scores[s.id] > 0:
            others = sum(v for k, v in scores.items() if k not in (s.id, "question"))
            if topic or facts_count or others >= CUE:
                det.angry = True
                scores[s.id] = 0

    order = list(pack.situations)
    best = max(scores.values())
    if best > 0:
        tied = [sid for sid in order if scores[sid] == best]
        choice = tied[0]
        if len(tied) > 1:
            det.tie_broken_by = "priority"
            if use_retrieval:
                try:
                    votes = _retrieval_votes(pack, text, tied)
                except DrafterError:
                    votes = {}
                top = max(votes.values(), default=0.0)
                if top > 0:
                    choice = next(sid for sid in tied if votes[sid] == top)
                    det.tie_broken_by = "retrieval"
        det.situation = choice
    det.complex = any(_contains(text, lowered, w) for w in pack.complex_cues) or (
        pack.complex_min_facts > 0 and facts_count >= pack.complex_min_facts
    )
    return det
