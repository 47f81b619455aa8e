"""Quotes found in a passage when only typography differs (drafter/text/fold.py)."""

from __future__ import annotations

import pytest

from drafter.text.fold import find

PASSAGE = "假如您能够稍等一下,我能够把相关要求再调出来。“稍候，让我去向主管请示一下。”ＡＢ１２"


@pytest.mark.parametrize(
    ("quote", "span_text"),
    [
        ("稍等一下,我能够", "稍等一下,我能够"),  # verbatim
        ("稍等一下，我能够", "稍等一下,我能够"),  # full-width comma
        ("「稍候,让我去向主管请示一下。」", "“稍候，让我去向主管请示一下。”"),  # other quote marks
        ("稍候 ， 让我", "稍候，让我"),  # spaces
        ("AB12", "ＡＢ１２"),  # width
    ],
)
def test_the_span_returned_is_the_passages_own_text(quote, span_text):
    span = find(PASSAGE, quote)
    assert span is not None and PASSAGE[span[0] : span[1]] == span_text


@pytest.mark.parametrize("quote", ["稍等两下", "主管请示一下吧", "", "   "])
def test_other_words_are_not_found(quote):
    assert find(PASSAGE, quote) is None
