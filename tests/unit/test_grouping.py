"""Identical changes are reviewed as one group (你 → 您 ×N); JSON keeps every change."""

from __future__ import annotations

from pathlib import Path

from drafter.rules.engine import rewrite_offline as rewrite
from drafter.types import Change, apply_changes, expand_decisions, group_changes
from drafter.web import format as fmt

TEXT = (Path(__file__).resolve().parents[1] / "fixtures" / "rewrite" / "repeated.txt").read_text(
    encoding="utf-8"
)


def test_identical_changes_form_one_group_in_first_seen_order():
    result = rewrite(TEXT)
    groups = group_changes(result.changes)
    assert sum(g.count for g in groups) == len(result.changes)
    keys = [(g.rule, g.before, g.after) for g in groups]
    assert len(keys) == len(set(keys)) < len(result.changes)
    for g in groups:
        assert all(result.changes[i].before == g.before for i in g.indices)
    firsts = [g.indices[0] for g in groups]
    assert firsts == sorted(firsts)


def test_a_group_decision_holds_for_each_of_its_changes():
    result = rewrite(TEXT)
    groups = group_changes(result.changes)
    biggest = max(range(len(groups)), key=lambda i: groups[i].count)
    accepted = [i != biggest for i in range(len(groups))]
    per_change = expand_decisions(groups, accepted, len(result.changes))
    rejected = {result.changes[i].start for i in groups[biggest].indices}
    kept = [c for c, ok in zip(result.changes, per_change) if ok]
    assert {c.start for c in result.changes if c not in kept} == rejected
    assert groups[biggest].before in apply_changes(TEXT, kept)


def test_the_app_table_shows_one_row_per_group_with_its_count():
    result = rewrite(TEXT)
    groups = group_changes(result.changes)
    rows = fmt.change_rows(result.changes)
    assert len(rows) == len(groups)
    big = max(groups, key=lambda g: g.count)
    assert any(f"×{big.count}" in row[3] for row in rows)
    assert len(result.to_dict()["changes"]) == len(result.changes)  # JSON keeps every change


def _change(rule: str, start: int, before: str, after: str) -> Change:
    return Change(rule, start, start + len(before), before, after, "", None)


def test_carried_decisions_keep_a_rejection_when_the_same_change_comes_back():
    from drafter.types import carry_decisions

    old = [
        _change("polite-pronoun", 0, "你", "您"),
        _change("definite", 5, "可能是", "是"),
        _change("polite-pronoun", 12, "你", "您"),
    ]
    # The draft was edited: offsets moved, one change is new, one is gone.
    new = [
        _change("definite", 7, "可能是", "是"),
        _change("polite-pronoun", 1, "你", "您"),
        _change("what-not-why", 20, "为什么", "是什么原因"),
    ]
    assert carry_decisions(old, [True, False, True], new) == [False, True, True]
    # A group rejected in part counts as rejected (the table decides per group).
    assert carry_decisions(old, [False, True, True], new) == [True, False, True]
    assert carry_decisions([], [], new) == [True, True, True]
