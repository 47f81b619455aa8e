"""Who speaks where (drafter/rules/zones.py), on the fixtures of tests/fixtures/zones/."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafter.rules.zones import speech_zones

FIXTURES = Path(__file__).parents[1] / "fixtures" / "zones" / "speakers.txt"


def _cases() -> list[tuple[str, list[str]]]:
    out = []
    for line in FIXTURES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        draft, _, spans = line.partition(" || ")
        out.append((draft.replace("\\n", "\n"), [s.strip() for s in spans.split(" ; ")]))
    return out


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


CASES = _cases()


@pytest.mark.parametrize(("draft", "spans"), CASES, ids=[f"line-{i}" for i in range(len(CASES))])
def test_someone_elses_words_are_untouchable_and_the_agents_are_not(draft, spans):
    zones = speech_zones(draft)
    for spec in spans:
        sign, span = spec[0], spec[1:]
        start = draft.index(span)
        end = start + len(span)
        # Someone else's words are never rewritten: untouchable, or quoted (flagged only).
        theirs = [*zones.untouchable, *zones.quoted]
        if sign == "+":
            assert _inside(theirs, start, end), f"{span!r} should be someone else's"
        else:
            assert not _overlaps(theirs, start, end), f"{span!r} is the agent's"


def test_the_fixture_file_has_both_kinds():
    signs = {s[0] for _, spans in CASES for s in spans}
    assert signs == {"+", "-"}
