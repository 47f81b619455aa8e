"""Characters a pattern cannot match without: a cheap test that skips most patterns of a draft.

`required(regex)` reads the parsed pattern and returns sets of characters such that every
match (and whatever its look-arounds need) contains at least one character of each set. A draft
whose characters miss one of the sets cannot match, so the engine does not search it: most
patterns name a word (自己, 怪, 投诉) that most drafts don't contain. The test is exact in one
direction only: passing it says nothing, failing it proves there is no match.
"""

from __future__ import annotations

import re
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_WIDEST = 64  # a character class wider than this (a range such as 一-龥) says too little


def required(regex: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """The character sets every match of ``regex`` needs one of (empty: no test)."""
    try:
        parsed = _parser.parse(regex.pattern, regex.flags)
    except (re.error, RecursionError):
        return ()
    sets = _sequence(list(parsed), bool(regex.flags & re.IGNORECASE))
    return tuple(sorted({s for s in sets if s}, key=len))


def _sequence(items: list[Any], fold: bool) -> list[frozenset[str]]:
    out: list[frozenset[str]] = []
    for op, av in items:
        out.extend(_item(op, av, fold))
    return out


def _item(op: object, av: Any, fold: bool) -> list[frozenset[str]]:
    if op is c.LITERAL:
        return [_chars({chr(av)}, fold)]
    if op is c.IN:
        found = _in(av, fold)
        return [found] if found else []
    if op is c.SUBPATTERN:  # (group, flags added, flags removed, body): (?i:ok) folds case
        _group, added, removed, body = av
        fold = (fold or bool(added & re.IGNORECASE)) and not removed & re.IGNORECASE
        return _sequence(list(body), fold)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _high, body = av
        return _sequence(list(body), fold) if low >= 1 else []
    if op is c.ASSERT:  # a look-ahead or look-behind needs its characters in the text too
        return _sequence(list(av[1]), fold)
    if op is getattr(c, "ATOMIC_GROUP", None):
        return _sequence(list(av), fold)
    if op is c.BRANCH:
        # Each alternative needs one of its own sets: their union is needed by the branch.
        union: set[str] = set()
        for alternative in av[1]:
            sets = _sequence(list(alternative), fold)
            if not sets:
                return []
            union |= min(sets, key=len)
        return [frozenset(union)]
    return []  # ANY, NOT_LITERAL, CATEGORY, AT, ASSERT_NOT, GROUPREF …: no requirement


def _in(av: list[Any], fold: bool) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, value in av:
        if op is c.LITERAL:
            chars.add(chr(value))
        elif op is c.RANGE:
            low, high = value
            if high - low > _WIDEST:
                return None
            chars.update(chr(i) for i in range(low, high + 1))
        else:  # NEGATE, CATEGORY (\s, \d) …
            return None
    return _chars(chars, fold)


def _chars(chars: set[str], fold: bool) -> frozenset[str]:
    if fold:
        chars = chars | {ch.lower() for ch in chars} | {ch.upper() for ch in chars}
    return frozenset(chars)


def possible(sets: tuple[frozenset[str], ...], chars: frozenset[str] | set[str]) -> bool:
    """Whether a text with these characters may match (every set meets them)."""
    return all(not s.isdisjoint(chars) for s in sets)
