"""The meaning guard's judgements, sentence by sentence (drafter/engines/llm/guard.py).

Each pair is a draft sentence and a model's rewrite of it. A rewrite that says the same thing
another way is kept; one that changes what is offered, where, how many or whether, is put
back. These are the guard's shapes, written for these tests (not the evaluation sets).
"""

from __future__ import annotations

import pytest

from drafter.engines.llm import guard, validate
from drafter.engines.llm.align import align
from drafter.engines.llm.validate import Rejected


def judged(draft: str, rewrite: str, loose: list[tuple[int, int]] | None = None) -> guard.Review:
    return guard.review(draft, align(draft, rewrite), loose or [])


SAME = {
    "很多 for 不少": ("最近咨询的人不少，你稍等。", "最近咨询的客户很多，请您稍等。"),
    "否则 for 不然": (
        "明早8点前要确认，不然座位会释放。",
        "请您在明早8点前确认，否则座位会被释放。",
    ),
    "是否 for 有没有": ("我帮你看看有没有库存。", "我帮您查询是否还有库存。"),
    "不必 for 不用": ("你不用再跑一趟了。", "您无需再跑一趟了。"),
    "已 for 了": ("退款申请我提交了。", "退款申请我已经为您提交。"),
    "已 for 好了": ("门锁换好了，钥匙在物业。", "门锁已更换完毕，钥匙放在物业。"),
    "a value said again": (
        "水温在60度以内都正常，超过了就关掉。",
        "水温在60度以内属于正常，超过60度请您关掉。",
    ),
    "a noun moved to another sentence": (
        "驿站的包裹你今天去拿。记得带取件码。",
        "请您今天去驿站领取。记得带上包裹的取件码。",
    ),
    "a light noun dropped": ("这个事情我们马上处理。", "我们马上为您处理。"),
}

CHANGED = {
    "能 -> 不能": ("这张券能和满减一起用。", "这张券不能和满减一起用。", "negation"),
    "正在 -> 已": ("你的申请正在审核。", "您的申请已审核通过。", "status"),
    "a new number": ("师傅下午上门。", "师傅下午3点上门。", "number"),
    "the place replaced": (
        "钥匙放在物业值班室，你随时来拿。",
        "钥匙放在保安亭，您随时来拿。",
        "replaced",
    ),
    "the offer replaced": (
        "可以先把婴儿车寄存在服务台，逛完再来取。",
        "可以先租用商场的婴儿车，逛完再归还。",
        "replaced",
    ),
}


@pytest.mark.parametrize("name", SAME)
def test_the_same_thing_said_another_way_is_kept(name):
    draft, rewrite = SAME[name]
    r = judged(draft, rewrite)
    assert r.text == rewrite and not r.reverted, r.reverted


@pytest.mark.parametrize("name", CHANGED)
def test_a_change_of_meaning_is_put_back_and_named(name):
    draft, rewrite, why = CHANGED[name]
    r = judged(draft, rewrite)
    assert r.text == draft
    assert [w for _b, _a, w in r.reverted] == [why]
    assert guard.LABELS[why] in r.warnings()[0]


def test_a_flagged_phrase_may_be_reworded_whole():
    draft = "你别急，快递下午就到。"
    rewrite = "请您放心，快递下午就到。"
    loose = [(draft.index("别急"), draft.index("别急") + 2)]
    assert judged(draft, rewrite, loose).text == rewrite
    assert judged(draft, rewrite).text == draft  # unflagged, 别 going is a flip


@pytest.mark.parametrize(
    "draft, rewrite",
    [
        ("差价3块我们退给你。", "差价3元我们退还给您。"),
        ("9点到18点有人接听。", "9:00-18:00有人接听。"),
        ("8月27号那笔消费。", "8月27日那笔消费。"),
        ("押金¥100退订时退。", "押金100元退订时退还。"),
    ],
)
def test_a_fact_written_another_way_is_the_same_fact(draft, rewrite):
    validate.check_facts(validate.facts_of(draft), rewrite)


def test_a_changed_fact_is_still_refused():
    with pytest.raises(Rejected):
        validate.check_facts(validate.facts_of("差价3块我们退给你。"), "差价5元我们退还给您。")


def test_a_rude_short_draft_reworded_whole_is_not_another_text():
    draft = "你天天打电话催也没用，理赔就是要7个工作日"
    rewrite = "理赔的处理周期为7个工作日，还请您耐心等待，有进展我们会同步给您。"
    validate.check_scope(draft, rewrite, validate.facts_of(draft))


def test_another_text_is_refused():
    draft = "你的快递在驿站放着，你下班去拿一下吧，带上取件码"
    other = "您好，您的退款已经原路退回，请留意银行卡的到账短信，有问题随时联系我们。"
    with pytest.raises(Rejected):
        validate.check_scope(draft, other, validate.facts_of(draft))
