"""The LanguageTool protocol over the offline rules (drafter.languagetool.protocol), on the
real rule pack and manuals: offsets in UTF-16 units, annotated text, the request's filters,
and refusals with LanguageTool's status codes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drafter import Drafter
from drafter.languagetool import protocol as lt
from drafter.rules.pack import get_pack

# Drafts as agents paste them: emoji before and inside the text, CRLF, Traditional script.
TEXTS = [
    "你好😀，你的快递可能是丢了，\r\n为什么不早点说？我也不知道🙏你冷静一下",
    "👍👍 亲，你们公司的订单可能会晚点到，请你等一下。\r\n\r\n为什么你不早点联系我们？",
    "您好，請你稍等，為什麼你不早點說？你們的包裹可能是寄丟了😢",
    "你好，OK，这个case我follow up一下，你放心，保证明天给你答复。",
]


def u16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def apply_u16(doc: str, matches: list[dict]) -> str:
    """Apply each match's first replacement in UTF-16 units, as a Java client would."""
    units = doc.encode("utf-16-le")
    out, pos = [], 0
    for m in sorted(matches, key=lambda m: m["offset"]):
        if not m["replacements"]:
            continue
        a, b = 2 * m["offset"], 2 * (m["offset"] + m["length"])
        out += [units[pos:a], m["replacements"][0]["value"].encode("utf-16-le")]
        pos = b
    return b"".join(out + [units[pos:]]).decode("utf-16-le")


@pytest.fixture(scope="module")
def app() -> Drafter:
    return Drafter()


def answer(app: Drafter, params: dict) -> dict:
    request = lt.parse_check(params, 20000)
    with app.state.active():
        rules = {r.id: r.description for r in get_pack().rules}
    result = app.rewrite(request.document.plain, engine="offline")
    return lt.check(request, result, rules, lambda c: f"http://x/?passage={c.passage_id}")


@given(st.text(alphabet=st.sampled_from(list("你好a\r\n😀🙏𠮷，。"))))
def test_utf16_offsets_count_code_units(text):
    to16 = lt.Utf16(text)
    for i in range(len(text) + 1):
        assert to16(i) == u16(text[:i])
    assert lt.utf16_len(text) == u16(text)


@pytest.mark.parametrize("text", TEXTS)
def test_replacements_applied_in_utf16_give_the_rewrite(app, text):
    d = answer(app, {"text": text, "language": "zh-CN"})
    rewrite = app.rewrite(text, engine="offline")
    assert d["matches"], "every sample draft has something to change or flag"
    assert apply_u16(text, d["matches"]) == rewrite.rewritten
    units = text.encode("utf-16-le")
    spans = {(c.start, c.end) for c in rewrite.changes} | {(f.start, f.end) for f in rewrite.flags}
    for m in d["matches"]:
        marked = units[2 * m["offset"] : 2 * (m["offset"] + m["length"])].decode("utf-16-le")
        assert any(text[a:b] == marked for a, b in spans)
        # The context marks the same characters, counted in code points or in UTF-16 units.
        ctx = m["context"]
        assert ctx["text"][ctx["offset"] : ctx["offset"] + len(marked)].replace(" ", "") == (
            marked.replace("\r", "").replace("\n", "").replace(" ", "")
        )
        head = ctx["text"][: ctx["offset"]]
        assert u16(head) == len(head)
        assert marked in m["sentence"] or "\n" in marked


def test_flags_have_no_replacement_and_say_the_suggestion(app):
    d = answer(app, {"text": TEXTS[0], "language": "zh-CN"})
    rewrite = app.rewrite(TEXTS[0], engine="offline")
    flags = [m for m in d["matches"] if m["rule"]["category"]["id"] == "HOUSE_TONE_REVIEW"]
    assert len(flags) == len(rewrite.flags) > 0
    for m, f in zip(flags, sorted(rewrite.flags, key=lambda f: (f.start, f.end))):
        assert m["replacements"] == []
        assert m["rule"]["id"] == f.rule
        if f.suggestion:
            assert f.suggestion in m["message"]


def test_every_match_names_its_rule_and_links_its_passage(app):
    d = answer(app, {"text": TEXTS[1], "language": "zh-CN"})
    ids = {r.id for r in get_pack().rules}
    for m in d["matches"]:
        rule = m["rule"]
        assert rule["id"] in ids and rule["description"] and rule["issueType"] == "style"
        assert m["shortMessage"] and "（" not in m["shortMessage"]
        assert m["citation"]["quote"]
        assert rule["urls"][0]["value"] == f"http://x/?passage={m['citation']['passage_id']}"
    assert d["language"]["code"] == "zh-CN"
    assert d["language"]["detectedLanguage"]["code"] == "zh-CN"


def test_rules_and_categories_are_filtered_as_asked(app):
    text = TEXTS[0]
    every = {m["rule"]["id"] for m in answer(app, {"text": text, "language": "zh"})["matches"]}
    assert {"polite-pronoun", "definite", "calm-down"} <= every
    d = answer(app, {"text": text, "language": "zh", "disabledRules": "polite-pronoun,definite"})
    assert {m["rule"]["id"] for m in d["matches"]} == every - {"polite-pronoun", "definite"}
    d = answer(
        app, {"text": text, "language": "zh", "enabledRules": "definite", "enabledOnly": "true"}
    )
    assert {m["rule"]["id"] for m in d["matches"]} == {"definite"}
    d = answer(app, {"text": text, "language": "zh", "disabledCategories": "HOUSE_TONE_REVIEW"})
    assert all(m["replacements"] for m in d["matches"])
    # Only what is enabled is applied: the text a client gets is that rule's rewrite alone.
    d = answer(
        app, {"text": text, "language": "zh", "enabledRules": "definite", "enabledOnly": "true"}
    )
    assert apply_u16(text, d["matches"]) == text.replace("可能是", "是")


def test_annotated_text_offsets_refer_to_the_whole_document(app):
    annotation = [
        {"markup": "<p>"},
        {"text": "你好，"},
        {"markup": "<b>", "interpretAs": ""},
        {"text": "你"},
        {"markup": "</b>"},
        {"text": "😀的单号可能是错的"},
        {"markup": "<br/>", "interpretAs": "\n"},
        {"text": "为什么不早说"},
    ]
    doc = "".join(a.get("text", a.get("markup")) for a in annotation)
    plain = "".join(a.get("text", a.get("interpretAs", "")) for a in annotation)
    d = answer(app, {"data": json.dumps({"annotation": annotation}), "language": "auto"})
    assert {m["rule"]["id"] for m in d["matches"]} >= {"polite-pronoun", "definite", "what-not-why"}
    # The markup is untouched and the text is the rewrite of the text the reader sees.
    fixed = apply_u16(doc, d["matches"])
    for a in annotation:
        if "markup" in a:
            assert a["markup"] in fixed
    assert (
        fixed.replace("<p>", "").replace("<b>", "").replace("</b>", "").replace("<br/>", "\n")
        == app.rewrite(plain, engine="offline").rewritten
    )


def test_a_match_across_markup_keeps_the_markup():
    doc = lt.Document.from_annotation(
        json.dumps({"annotation": [{"text": "可"}, {"markup": "<i>"}, {"text": "能是"}]})
    )
    assert doc.plain == "可能是"
    assert doc.to_doc(0, 3) == (0, 6, False)  # whole span, but no replacement
    assert doc.to_doc(1, 3) == (4, 6, True)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"language": "zh-CN"}, 400),  # neither text nor data
        ({"text": "  \n", "language": "zh-CN"}, 400),  # empty
        ({"text": "你好", "language": "en-US"}, 400),  # not a language we check
        ({"text": "你好"}, 400),  # no language
        ({"text": "你" * 20001, "language": "zh-CN"}, 413),
        ({"data": '{"annotation": [', "language": "zh-CN"}, 400),
        ({"data": '{"annotation": [{"text": 1}]}', "language": "zh-CN"}, 400),
        ({"data": '{"annotation": [{"text": "a", "markup": "b"}]}', "language": "zh"}, 400),
        ({"data": "[]", "language": "zh-CN"}, 400),
        ({"text": "你好", "data": "{}", "language": "zh-CN"}, 400),
        ({"text": "你好", "language": "zh-CN", "level": "loud"}, 400),
        ({"text": "你好", "language": "zh-CN", "enabledOnly": "true"}, 400),
    ],
)
def test_bad_requests_are_refused_with_languagetools_status(params, status):
    with pytest.raises(lt.LTError) as err:
        lt.parse_check(params, 20000)
    assert err.value.status == status
    assert err.value.message.endswith("。") and "\n" not in err.value.message


@pytest.mark.parametrize("code", ["zh", "zh-CN", "zh-cn", "zh_TW", "zh-HK", "zh-Hans", "auto"])
def test_chinese_codes_clients_send_are_accepted(code):
    assert lt.parse_check({"text": "你好", "language": code}, 100).language["code"] == "zh"


def test_a_traditional_draft_reads_its_messages_in_traditional(app):
    text = TEXTS[2]  # 您好，請你稍等，為什麼你不早點說？…
    for params in ({"text": text, "language": "zh-TW"}, {"text": text, "language": "auto"}):
        d = answer(app, params)
        assert d["language"]["detectedLanguage"]["code"] == "zh-TW"
        messages = " ".join(m["message"] + m["shortMessage"] for m in d["matches"])
        assert "稱呼" in messages or "為" in messages
        assert "称呼" not in messages
    simplified = answer(app, {"text": TEXTS[0], "language": "auto"})
    assert simplified["language"]["detectedLanguage"]["code"] == "zh-CN"
