"""Finding a quote in a passage when only typography differs.

Models retype what they quote: full-width punctuation becomes half-width, curly quotes become
straight or 「」, spaces come and go. :func:`find` matches after folding each character (NFKC,
one mark per kind of quote and punctuation, whitespace dropped) and returns the span of the
passage's *own* text, so what is shown as a citation is always the corpus's exact wording.
"""

from __future__ import annotations

import unicodedata

# Characters that differ only in typography, folded to one mark each.
_MARKS = {
    **dict.fromkeys('“”„‟"「」『』﹁﹂﹃﹄〝〞＂', '"'),
    **dict.fromkeys("‘’‚‛'＇", "'"),
    **dict.fromkeys("，,、﹐﹑", ","),
    **dict.fromkeys("。．.｡", "."),
    **dict.fromkeys("：:﹕", ":"),
    **dict.fromkeys("；;﹔", ";"),
    **dict.fromkeys("！!﹗", "!"),
    **dict.fromkeys("？?﹖", "?"),
    **dict.fromkeys("（(", "("),
    **dict.fromkeys("）)", ")"),
    **dict.fromkeys("—–―-－", "-"),
    **dict.fromkeys("…⋯", "..."),
}


def _fold_char(ch: str) -> str:
    if ch.isspace():
        return ""
    mark = _MARKS.get(ch)
    if mark is not None:
        return mark
    folded = unicodedata.normalize("NFKC", ch)
    return "".join(_MARKS.get(c, c) for c in folded).lower()


def _folded(text: str) -> tuple[str, list[int]]:
    """``text`` folded, and for each folded character the index of the one it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        piece = _fold_char(ch)
        out.append(piece)
        origin.extend([i] * len(piece))
    return "".join(out), origin


def find(haystack: str, needle: str) -> tuple[int, int] | None:
    """The span of ``haystack`` whose folded form is ``needle``'s, or None."""
    start = haystack.find(needle)
    if needle and start >= 0:
        return start, start + len(needle)
    target, _ = _folded(needle)
    if not target:
        return None
    text, origin = _folded(haystack)
    at = text.find(target)
    if at < 0:
        return None
    return origin[at], origin[at + len(target) - 1] + 1
