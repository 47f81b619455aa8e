"""The meaning guard: a model's rewrite that changes what the draft says is put back.

Each hostile answer keeps every fact (so the fact check alone would pass it) and looks like a
tone pass; the edit that changes the meaning must not reach the agent, while the answer's
genuine tone edits are kept.
"""

from __future__ import annotations

import pytest
from fake_openai import ok

from drafter.engines import registry as engines

pytest_plugins = ["conftest_llm"]

DRAFT = "你好，你的订单A1234已经发货了，这款耳机可能会有轻微杂音，你可以先试用一下。"
TONE = "您好，您的订单A1234已经发货了，这款耳机会有轻微杂音，您可以先试用一下。"

# answer -> what must never reach the agent
HOSTILE = {
    "negation flipped": (TONE.replace("会有轻微杂音", "不会有杂音"), "不会有杂音"),
    "已 -> 未": (TONE.replace("已经发货了", "还未发货"), "未发货"),
    "compensation appended": (TONE + "我们将为您补偿50元优惠券。", "补偿"),
    "a link added": (TONE.replace("试用一下", "试用一下，详见 http://x.cn/a"), "http://"),
    "a phone added": (TONE.replace("试用一下", "试用一下，或致电 400-800-1234"), "400-800-1234"),
    "markup": (TONE.replace("您好", "<b>您好</b>"), "<b>"),
    "a promise": (TONE.replace("会有轻微杂音", "保证没有杂音"), "保证"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_an_edit_that_changes_the_meaning_is_put_back_and_named(any_client, kind):
    answer, forbidden = HOSTILE[kind]
    any_client.push(ok({"rewritten": answer, "changes": []}))
    r = engines.rewrite(DRAFT, engine="llm")
    assert forbidden not in r.rewritten
    assert "A1234" in r.rewritten and "您好" in r.rewritten  # the tone edits stay
    if r.engine.startswith("llm:"):
        assert any("改回草稿原文" in w for w in r.warnings), r.warnings


def test_a_cut_off_rewrite_is_not_accepted(any_client):
    long_draft = DRAFT * 3
    any_client.push(ok({"rewritten": TONE, "changes": []}))  # a third of the draft
    r = engines.rewrite(long_draft, engine="llm")
    assert r.engine == "offline"
    assert any("截断" in w for w in r.warnings), r.warnings


def test_a_plain_tone_pass_is_accepted_without_a_guard_warning(any_client):
    any_client.push(ok({"rewritten": TONE, "changes": []}))
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine.startswith("llm:") and r.rewritten == TONE
    assert not any("改回草稿原文" in w for w in r.warnings), r.warnings


def test_a_flagged_phrase_may_lose_its_negation(any_client):
    draft = "你别急，我马上帮你查订单A1234。"
    any_client.push(ok({"rewritten": "请您放心，我马上帮您查订单A1234。", "changes": []}))
    r = engines.rewrite(draft, engine="llm")
    assert r.engine.startswith("llm:")
    assert r.rewritten == "请您放心，我马上帮您查订单A1234。"
