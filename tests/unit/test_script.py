"""Script folding for search (drafter.text.script.for_matching) and the retrieval figures'
ideal ranking, on the real manuals."""

from __future__ import annotations

import pytest

from drafter import Drafter
from drafter.evaluation.retrieval import RetrievalCase, score_case
from drafter.knowledge.corpus import get_corpus
from drafter.text.script import for_matching, traditional_for


def test_the_manuals_are_indexed_as_they_are_written():
    with Drafter().state.active():
        passages = get_corpus().passages
    assert passages
    assert all(for_matching(p.text) == p.text for p in passages)


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("請問退款要多久？", "请问退款要多久？"),
        ("客人打進來就開噴，我該怎麼辦", "客人打进来就开喷，我该怎么办"),
        ("軟體一直閃退，網路也不穩", "软件一直闪退，网络也不稳"),  # Taiwan wording too
        ("顧客很生氣", "顾客很生气"),
    ],
)
def test_traditional_questions_are_folded_to_the_manuals_script(typed, folded):
    assert for_matching(typed) == folded


@pytest.mark.parametrize("text", ["程序和文件都建立好了", "核心问题是什么", "refund 多久", "干净"])
def test_simplified_text_keeps_its_own_words(text):
    assert for_matching(text) == text


def test_a_round_trip_through_traditional_comes_back():
    q = "客户很生气，一直在抱怨，应该先做什么？"
    assert for_matching(traditional_for("", q)) == q


def test_ndcg_is_measured_against_the_ideal_ranking():
    case = RetrievalCase("x", "q", ["甲"])
    both_first = score_case(case, ["甲1", "甲2", "乙", "丙", "丁"], n_relevant=2)
    one_first = score_case(case, ["甲1", "乙", "丙", "丁", "戊"], n_relevant=2)
    assert both_first["ndcg@5"] == pytest.approx(1.0)
    assert 0 < one_first["ndcg@5"] < 1.0
    # with one relevant passage in the corpus, ranking it first is ideal
    assert score_case(case, ["甲1", "乙"], n_relevant=1)["ndcg@5"] == pytest.approx(1.0)
    assert score_case(case, ["乙", "丙"], n_relevant=3)["ndcg@5"] == 0.0
