"""Properties of the offline engine over generated text (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drafter.errors import InputError
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.text.decode import has_chinese
from drafter.text.facts import fact_spans
from drafter.types import apply_changes

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rewrite"


def _lines(name: str) -> list[str]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


FRAGMENTS = _lines("fragments.txt")
FACTS = _lines("facts.txt")
# Characters the rules care about, so random text often lands on (and next to) rule targets.
HOT = sorted(
    set("".join(FRAGMENTS))
    | set("你您妳们們可能是为什么為什麼这這就也迷尽儘不性的“”「」，。！？、\r\n\t😊🙏～")
)

PROPS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

any_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(HOT),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(blacklist_categories=("Cs",)),
    ),
    min_size=1,
    max_size=120,
)
separators = st.sampled_from(["", "", " ", "\n", "\r\n", "，", "。"])


@st.composite
def drafts(draw, with_facts: bool = False) -> str:
    parts = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8))
    if with_facts:
        for fact in draw(st.lists(st.sampled_from(FACTS), min_size=1, max_size=4)):
            parts.insert(draw(st.integers(0, len(parts))), f"（{fact}）")
    out = parts[0]
    for p in parts[1:]:
        out += draw(separators) + p
    return out


def assert_contract(original: str) -> None:
    try:
        result = rewrite(original)
    except InputError:
        assert not original.strip()
        return
    assert result.original == original
    last_end = -1
    for c in sorted(result.changes, key=lambda c: c.start):
        assert original[c.start : c.end] == c.before
        assert c.start >= last_end
        last_end = c.end
    assert apply_changes(original, result.changes) == result.rewritten
    for f in result.flags:
        assert original[f.start : f.end] == f.text
    assert result.rewritten.count("是是") <= original.count("是是")
    if not has_chinese(original):
        assert result.rewritten == original and result.warnings


@PROPS
@given(any_text)
def test_offset_contract_holds_for_any_text(text):
    assert_contract(text)


@PROPS
@given(st.lists(st.one_of(any_text, drafts()), min_size=1, max_size=4).map("".join))
def test_offset_contract_holds_for_mixed_realistic_and_random_text(text):
    assert_contract(text)


@PROPS
@given(drafts())
def test_rewriting_is_idempotent_on_realistic_drafts(text):
    once = rewrite(text)
    twice = rewrite(once.rewritten)
    assert twice.changes == [], [(c.before, c.after) for c in twice.changes]
    assert twice.rewritten == once.rewritten


@PROPS
@given(drafts(with_facts=True))
def test_facts_are_never_altered(text):
    result = rewrite(text)
    for fact in FACTS:
        assert result.rewritten.count(fact) == text.count(fact)
    for span in fact_spans(text):
        for c in result.changes:
            assert c.end <= span.start or c.start >= span.end


@PROPS
@given(drafts())
def test_no_change_inside_a_protected_flag(text):
    result = rewrite(text)
    for f in result.flags:
        if f.rule == "provocative":
            for c in result.changes:
                assert c.end <= f.start or c.start >= f.end


@pytest.mark.parametrize("sep", ["\r\n", "\n", "\u3000", "\t"])
def test_line_breaks_and_spaces_between_fragments_are_kept(sep):
    text = sep.join(FRAGMENTS)
    result = rewrite(text)
    assert result.rewritten.count(sep) == text.count(sep)
    assert_contract(text)


@PROPS
@given(st.lists(st.one_of(drafts(with_facts=True), any_text), min_size=1, max_size=3).map("".join))
def test_windowed_fact_search_finds_what_a_full_scan_finds(text):
    from drafter.text.facts import _fact_spans_full_scan

    assert fact_spans(text) == _fact_spans_full_scan(text)


@PROPS
@given(st.lists(st.one_of(drafts(with_facts=True), any_text), min_size=1, max_size=4).map("".join))
def test_searching_near_needs_finds_what_a_full_scan_finds(text):
    from drafter.rules import pack as rulepack
    from drafter.rules.engine import analyse

    if not text.strip():
        return
    pack = rulepack.get_pack()
    assert analyse(text, pack) == analyse(text, pack, windowed=False)
