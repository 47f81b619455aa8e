"""Character alignment of a draft and its rewrite: the offset contract, word-sized spans."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drafter.engines.llm.align import align, similarity
from drafter.engines.llm.validate import map_flags
from drafter.types import Change, Flag, apply_changes

CASES = [
    # (original, rewrite, expected (before, after) spans)
    ("你好", "您好", [("你", "您")]),
    (
        "你为什么不早点联系我们？",
        "是什么原因让您没有早点联系我们？",
        [("你为什么不", "是什么原因让您没有")],
    ),
    ("可能是物流的问题", "是物流的问题", [("可能", "")]),
    ("你好，你的订单", "您好，您的订单", [("你", "您"), ("你", "您")]),
    ("订单12345已发货", "订单12346已发货", [("12345", "12346")]),
    ("order abc1 shipped", "order abd1 shipped", [("abc1", "abd1")]),
    ("请稍等", "请稍等", []),
    ("", "您好", [("", "您好")]),
    ("您好", "", [("您好", "")]),
    ("谢谢。", "谢谢您。", [("", "您")]),
]


def as_changes(edits) -> list[Change]:
    return [Change("r", e.start, e.end, e.before, e.after, "", None) for e in edits]


@pytest.mark.parametrize("original, rewritten, expected", CASES)
def test_spans(original, rewritten, expected):
    edits = align(original, rewritten)
    assert [(e.before, e.after) for e in edits] == expected
    assert apply_changes(original, as_changes(edits)) == rewritten
    for e in edits:
        assert original[e.start : e.end] == e.before
        assert rewritten[e.new_start : e.new_end] == e.after


TEXT = st.text(alphabet="你您好是什么为可能的订单号12345abc，。？ ", max_size=40)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_the_offset_contract_holds_for_any_pair(original, rewritten):
    edits = align(original, rewritten)
    assert apply_changes(original, as_changes(edits)) == rewritten
    positions = [(e.start, e.end) for e in edits]
    assert positions == sorted(positions)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(positions))
    assert all(e.before != e.after for e in edits)


def test_similarity_measures():
    assert similarity("abc", "abc") == 1.0
    assert similarity("", "") == 1.0
    assert similarity("你好吗", "您好吗") == pytest.approx(2 / 3)
    assert similarity("完全不同", "另一句话") < 0.3


def test_flags_are_moved_onto_the_original_or_set_apart():
    original = "你好，这不是我受理的。"
    final = "您好，这不是我受理的，请您稍候。"
    inside = Flag(
        "blame-shift",
        final.index("不是我受理的"),
        final.index("不是我受理的") + 6,
        "不是我受理的",
        "m",
        None,
        None,
    )
    added = Flag(
        "make-wait",
        final.index("请您稍候"),
        final.index("请您稍候") + 4,
        "请您稍候",
        "m",
        None,
        None,
    )
    kept, new = map_flags(original, align(original, final), [inside, added])
    assert [(f.start, f.text) for f in kept] == [(original.index("不是我受理的"), "不是我受理的")]
    assert new == [added]


SENTENCE = st.text(alphabet="你您好是什么为可能的订单号12345，、", min_size=1, max_size=30)
LONG = st.lists(st.tuples(SENTENCE, st.sampled_from("。？！\n")), min_size=2, max_size=30).map(
    lambda parts: "".join(s + end for s, end in parts)
)


@settings(max_examples=150, deadline=None)
@given(LONG, st.data())
def test_the_contract_holds_for_long_texts_matched_by_sentence_first(original, data):
    # A rewrite that edits some sentences, drops or adds others: the sentence-level path.
    pieces = [p for p in original.splitlines(keepends=True)]
    rewritten = "".join(
        data.draw(st.sampled_from([p, p.replace("你", "您"), "", p + "新句。"])) for p in pieces
    )
    edits = align(original, rewritten)
    assert apply_changes(original, as_changes(edits)) == rewritten
    assert 0.0 <= similarity(original, rewritten) <= 1.0


def test_a_long_repetitive_text_aligns_fast():
    import time

    original = "你好，你的订单12345可能是物流延误了。你为什么不早点联系我们？" * 400
    rewritten = original.replace("你好", "您好").replace("可能是", "是")
    t = time.perf_counter()
    edits = align(original, rewritten)
    assert time.perf_counter() - t < 1.0
    assert len(edits) == 800 and apply_changes(original, as_changes(edits)) == rewritten
