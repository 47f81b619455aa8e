"""The library as a Python user calls it: drafter.rewrite, drafter.draft, drafter.search."""

import drafter
from drafter.drafting.composer import DraftResult
from drafter.types import RewriteResult


def test_rewrite_is_callable_from_the_package_every_time():
    first = drafter.rewrite("你为什么不早点联系我们？")
    again = drafter.rewrite("你好")
    assert isinstance(first, RewriteResult) and first.engine == "offline"
    assert first.rewritten == "是什么原因让您没有早点联系我们？"
    assert again.rewritten == "您好"


def test_draft_and_search_from_the_package(indexed):
    reply = drafter.draft("谢谢你们，问题解决了！", channel="chat")
    assert isinstance(reply, DraftResult) and reply.situation == "thanks"
    hits = drafter.search("请你等一下", k=2)
    assert any("请你等一下" in h.text for h in hits)
