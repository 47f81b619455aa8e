"""Search's query-rewriting arm against the fake OpenAI-compatible server on loopback: the
model's restatement of an agent's question finds the manual passage, answers are cached, and
a model that fails, hangs or answers nonsense leaves search as it is offline, with a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fake_openai import error, ok

from drafter.retrieval import hybrid

pytest_plugins = ["conftest_llm"]  # fake_llm
pytestmark = pytest.mark.slow

# An agent's words, with no word of the manual's: the model says it as the manual does.
QUESTION = "对方一直在那儿吼，我劝了句消消火，他更来劲了"
RESTATED = {"queries": ["客户愤怒时不要告诉她们冷静一下"]}
ANSWER = "冷静一下"  # in the passage that answers it (战胜恶劣客户完胜手册)


def ids(passages) -> list[str]:
    return [p.passage_id for p in passages]


def rank_of(passages, snippet: str) -> int | None:
    return next((i for i, p in enumerate(passages, 1) if snippet in p.text), None)


def without_arm(question: str):
    """The search without the arm (the same index, the same question)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRAFTER_SEARCH_LLM", "off")
        return hybrid.search(question, 5)


@pytest.fixture
def offline(indexed):
    return without_arm(QUESTION)


def test_the_restated_question_finds_the_manuals_passage_and_is_asked_once(offline, fake_llm):
    fake_llm.push(ok(RESTATED))
    found = hybrid.search(QUESTION, 5, restate=True)
    assert rank_of(found, ANSWER) is not None
    before = rank_of(offline, ANSWER)
    assert before is None or rank_of(found, ANSWER) < before
    [request] = fake_llm.chat_requests
    user = request["messages"][-1]["content"]
    assert QUESTION in user and "<<<QUESTION" in user  # the question is data, delimited
    # Cached: the same question again asks nobody and ranks the same.
    assert ids(hybrid.search(QUESTION, 5, restate=True)) == ids(found)
    assert len(fake_llm.chat_requests) == 1
    assert hybrid.last_warning() is None


@pytest.mark.parametrize(
    "reply",
    [
        error(500),
        error(401, "bad key"),
        ok("不是 JSON 的一段话"),
        ok({"queries": "客户愤怒"}),  # not a list
        ok({"queries": []}),
        ok(RESTATED, delay=3.0),  # longer than DRAFTER_SEARCH_LLM_TIMEOUT
    ],
    ids=["500", "401", "prose", "not-a-list", "empty", "slow"],
)
def test_a_failing_model_leaves_search_as_it_is_offline(fake_llm, monkeypatch, reply, request):
    # a question of its own: an answer cached by another test would not reach the server
    question = f"{QUESTION}（{request.node.callspec.id}）"
    monkeypatch.setenv("DRAFTER_SEARCH_LLM_TIMEOUT", "0.5")
    fake_llm.push(reply, reply, reply)
    expected = ids(without_arm(question))
    assert ids(hybrid.search(question, 5, restate=True)) == expected
    assert "改写查询的模型不可用" in (hybrid.last_warning() or "")


def test_more_than_three_restatements_are_cut(fake_llm):
    many = {"queries": [f"不要告诉她们冷静一下 {i}" for i in range(8)]}
    fake_llm.push(ok(many))
    found = hybrid.search(QUESTION + "？？", 5, restate=True)
    assert len(found) == 5 and rank_of(found, ANSWER) is not None
    assert hybrid.last_warning() is None


def test_off_means_no_call(indexed, fake_llm, monkeypatch):
    monkeypatch.setenv("DRAFTER_SEARCH_LLM", "off")
    hybrid.search(QUESTION, 5, restate=True)
    assert fake_llm.chat_requests == []


def test_the_cli_says_why_the_arm_was_skipped_and_still_answers(fake_llm, monkeypatch, tmp_path):
    fake_llm.push(error(503), error(503), error(503))
    monkeypatch.setenv("DRAFTER_SEARCH_LLM_TIMEOUT", "0.5")
    exe = Path(sys.executable).with_name("drafter")
    run = subprocess.run(
        [str(exe), "search", QUESTION + "（cli）", "-k", "3"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "改写查询的模型不可用" in run.stderr and "Traceback" not in run.stderr
    assert run.stdout.count("《") >= 3


def test_the_engines_own_retrieval_never_calls_the_arm(indexed, fake_llm):
    """A rewrite or a draft retrieves passages for its prompt: no second model call for it."""
    hybrid.search(QUESTION, 5)  # what the engines call
    assert fake_llm.chat_requests == []
