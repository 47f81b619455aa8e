"""The prefilter (drafter/rules/prefilter.py) never skips a pattern that could match."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drafter.rules.pack import get_pack
from drafter.rules.prefilter import possible, required

DATASETS = Path(__file__).parents[2] / "evals" / "datasets"


@pytest.mark.parametrize(
    ("pattern", "text", "may_match"),
    [
        ("自己", "您自己看", True),
        ("自己", "您看看", False),
        ("(?:怪|赖)[你您]自己", "别怪您", False),  # 自己 is missing
        ("(?:怪|赖)[你您]自己", "赖您自己", True),
        ("(?:你们)?早说", "早说啊", True),  # an optional part requires nothing
        ("[^，]{1,4}也没用", "说了也没用", True),
        ("[^，]{1,4}也没用", "说了也没有", False),
        ("等(?=一下)", "等等", False),  # a look-ahead's characters are needed too
        ("等(?!一下)", "等一下", True),  # a negative one needs nothing
        ("(?i:sorry)", "SORRY啊", True),  # scoped case folding
        ("(?i)ok", "Ok", True),
        ("[一-龥]可能", "这可能", True),  # a wide range requires nothing
        ("a|b.", "c", False),
        ("a|.", "c", True),  # an alternative without a requirement
    ],
)
def test_required_characters(pattern, text, may_match):
    regex = re.compile(pattern)
    assert possible(required(regex), frozenset(text)) is may_match
    if regex.search(text):
        assert may_match


def _rule_patterns():
    return [(r.id, p.regex, p.required) for r in get_pack().rules for p in r.patterns]


def _dataset_texts() -> list[str]:
    out = []
    for path in sorted(DATASETS.glob("rewrite*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def test_no_rule_pattern_is_skipped_where_it_matches_in_the_datasets():
    patterns = _rule_patterns()
    missed = [
        (rule, regex.pattern[:40])
        for text in _dataset_texts()
        for rule, regex, sets in patterns
        if regex.search(text) and not possible(sets, frozenset(text))
    ]
    assert missed == []


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_no_rule_pattern_is_skipped_where_it_matches_in_generated_text(data):
    texts = _TEXTS
    text = data.draw(st.sampled_from(texts))
    # cut and splice pieces of real drafts, so the patterns' words land at new edges
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(0, len(text)))
    mixed = text[:i] + data.draw(st.sampled_from(texts))[j:]
    for _rule, regex, sets in _PATTERNS:
        if regex.search(mixed):
            assert possible(sets, frozenset(mixed)), regex.pattern


_TEXTS = _dataset_texts()
_PATTERNS = _rule_patterns()
