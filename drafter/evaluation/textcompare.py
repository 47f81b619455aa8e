"""Chinese-aware text comparison for the eval checks.

Chinese has no spaces between words, so texts are compared character by character after
folding what should not count as a difference: Unicode compatibility forms (NFKC, which also
turns full-width Latin letters, digits and ASCII punctuation into half-width ones: ＡＢ１２，
→ AB12,), curly quotes, and whitespace (collapsed, and dropped next to CJK characters, where
it carries no meaning). Never whitespace tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from difflib import SequenceMatcher

# Quotes that differ only in typography.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})
_SPACES = re.compile(r"\s+")
# A CJK character, CJK punctuation or a full-width form: spaces next to them are layout.
_CJK = (
    r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
_SPACE_BY_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")


def normalize(text: str) -> str:
    """The comparison form of ``text``: NFKC, width and quote folding, layout spaces removed."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    text = _SPACE_BY_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()


def equal(a: str, b: str) -> bool:
    """Equal once normalized (全角/半角, NFKC and layout spaces do not count)."""
    return normalize(a) == normalize(b)


def contains(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack``, both normalized."""
    return normalize(needle) in normalize(haystack)


def count(haystack: str, needle: str) -> int:
    """Non-overlapping occurrences of ``needle`` in ``haystack``, both normalized."""
    n = normalize(needle)
    return normalize(haystack).count(n) if n else 0


def similarity(a: str, b: str) -> float:
    """Character-level similarity 0..1 of the normalized texts (2·matches / total length)."""
    a, b = normalize(a), normalize(b)
    if not a and not b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def char_f1(reference: str, candidate: str) -> float:
    """F1 of the two texts' character multisets (order ignored), normalized."""

    ref, cand = (
        Counter(normalize(reference).replace(" ", "")),
        Counter(normalize(candidate).replace(" ", "")),
    )
    if not ref and not cand:
        return 1.0
    overlap = sum((ref & cand).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(cand.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def diff(a: str, b: str) -> list[tuple[str, str]]:
    """A character diff of the raw texts as ``[(op, text)]``, op in ``= - +``, for display."""
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("=", a[i1:i2]))
            continue
        if i2 > i1:
            out.append(("-", a[i1:i2]))
        if j2 > j1:
            out.append(("+", b[j1:j2]))
    return out
