"""The typed models: what each data file and LLM reply may say, and how problems are told.

Should-pass and should-fail cases per model; every refusal is the project's own error type
(RulePackError, DatasetError, TypeError for a reply), one sentence naming file, line and field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from drafter.drafting import pack as drafting_pack
from drafter.engines.llm import call, drafting, validate
from drafter.errors import DatasetError, RulePackError
from drafter.evaluation import datasets
from drafter.models import datasets as case_models
from drafter.models import llm as reply_models
from drafter.models.base import strict_json_schema
from drafter.rules import pack as rulepack

REPO = Path(__file__).resolve().parents[2]
RULE = """\
id: {id}
kind: substitution
severity: rewrite
description: 测试
swap:
  - {{match: "{match}", replace: 您}}
explanation: "{{action}}"
evidence: {{manual: 如何处理客户不满, quote: 不用专业术语}}
"""


def _rule_dir(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _refused(directory: Path) -> RulePackError:
    with pytest.raises(RulePackError) as err:
        rulepack.load_pack(directory, locate=lambda q, s: None)
    return err.value


# --------------------------------------------------------------------------- rule files


def test_a_valid_rule_file_loads(tmp_path):
    pack = rulepack.load_pack(
        _rule_dir(tmp_path, "ok-rule", RULE.format(id="ok-rule", match="你")),
        locate=lambda q, s: None,
    )
    assert [r.id for r in pack.rules] == ["ok-rule"]
    assert pack.rules[0].patterns[0].regex.pattern == "你"


def test_an_unknown_field_in_a_rule_file_is_refused_naming_file_line_and_field(tmp_path):
    text = RULE.format(id="extra-field", match="你") + "colour: red\n"
    err = _refused(_rule_dir(tmp_path, "extra-field", text))
    (problem,) = err.context["problems"]
    assert problem.startswith("extra-field.yaml:9 [extra-field]: ")
    assert "未知字段“colour”" in problem and "evidence" in problem  # the fields it may have


def test_a_bad_regex_is_refused_naming_the_rule(tmp_path):
    err = _refused(_rule_dir(tmp_path, "bad-rx", RULE.format(id="bad-rx", match="[你")))
    (problem,) = err.context["problems"]
    assert problem.startswith("bad-rx.yaml:6 [bad-rx]: swap 第 1 项 不是有效的正则")
    assert str(tmp_path) in str(err)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("- just a list\n", "文件内容应是一个 YAML 映射"),
        ("", "文件内容应是一个 YAML 映射"),
        (RULE.format(id="Bad_Id", match="你"), "id 应是小写字母、数字和连字符"),
        (
            RULE.format(id="x", match="你").replace("severity: rewrite", "severity: 3"),
            "severity 应是",
        ),
        (RULE.format(id="x", match="你") + "ignore_case: 1\n", "ignore_case 应是 true 或 false"),
        (RULE.format(id="x", match="你") + "needs: '('\n", "needs 不是有效的正则"),
        (
            RULE.format(id="x", match="你") + "exceptions: [a, '']\n",
            "exceptions 第 2 项 能匹配空字符串",
        ),
        (RULE.format(id="x", match="你") + "define: {a: [1]}\n", "define.a 应是字符串"),
        (RULE.format(id="x", match="你").replace("{action}", "{action"), "explanation 模板有误"),
        (RULE.format(id="x", match="你") + "match: [不]\n", "substitution 规则用 swap 列出替换"),
        (
            RULE.format(id="x", match="你").replace("evidence: {", "evidence: {slug: 3, "),
            "evidence.slug 应是字符串或 null",
        ),
    ],
)
def test_bad_rule_files_are_refused_in_one_sentence_each(tmp_path, text, expected):
    err = _refused(_rule_dir(tmp_path, "x", text))
    assert any(expected in p for p in err.context["problems"]), err.context["problems"]
    assert all(re.match(r"^x\.yaml(:\d+)? \[[^\]]+\]: \S", p) for p in err.context["problems"])
    assert "Input should" not in str(err) and "pydantic" not in str(err)


def test_an_existence_rule_may_list_bare_regexes_and_mappings(tmp_path):
    text = """\
id: mixed
kind: existence
severity: flag
description: 测试
define: {w: "不行|不能"}
match:
  - "{{w}}"
  - {match: 做不到, message: "别说“{text}”"}
message: "{text}"
evidence: {manual: 如何处理客户不满, quote: 不用专业术语}
"""
    pack = rulepack.load_pack(_rule_dir(tmp_path, "mixed", text), locate=lambda q, s: None)
    patterns = pack.rules[0].patterns
    assert [p.regex.pattern for p in patterns] == ["不行|不能", "做不到"]
    assert patterns[1].message == "别说“{text}”" and patterns[0].message is None


# --------------------------------------------------------------------------- the drafting pack


def _drafting(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((REPO / "knowledge" / "drafting.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "drafting.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_drafting_pack_problem_names_file_line_and_key(tmp_path):
    path = _drafting(tmp_path, lambda r: r["phrases"]["greet"].update(tone="warm"))
    with pytest.raises(RulePackError) as err:
        drafting_pack.load_pack(path)
    (problem,) = err.value.context["problems"]
    line = next(
        n for n, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "tone:" in ln
    )
    assert problem.startswith(f"drafting.yaml:{line}: phrases.greet 有未知字段 'tone'")
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r["time_limits"].update(simple=0), "time_limits.simple 应是大于 0 的整数"),
        (lambda r: r["situations"][1].update(id="harassment"), "situations.harassment.id 与前面"),
        (lambda r: r.update(instruction_situation="nope"), "未知情况 'nope'"),
        (lambda r: r["placeholders"].update(x="y"), "placeholders.x 占位符应写成【名称】"),
        (lambda r: r["phrases"]["restate"]["variants"][0].update(when=["sunny"]), "when[0] 应是"),
        (lambda r: r["situations"].pop(), "缺少默认情况 question"),
        (lambda r: r.pop("email"), "缺少字段 'email'"),
        (lambda r: r["phrases"]["greet"].update(variants=[{"chat": "x"}]), "不能同时给出"),
    ],
)
def test_a_broken_drafting_pack_says_what_and_where(tmp_path, mutate, expected):
    with pytest.raises(RulePackError) as err:
        drafting_pack.load_pack(_drafting(tmp_path, mutate))
    assert expected in str(err.value)


def test_numbers_in_cue_lists_are_words(tmp_path):
    pack = drafting_pack.load_pack(_drafting(tmp_path, lambda r: None))
    assert "12315" in pack.complex_cues and "12315" in pack.ignore_facts


# --------------------------------------------------------------------------- datasets


def _write(directory: Path, name: str, lines: list) -> Path:
    path = directory / name
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines),
        encoding="utf-8",
    )
    return path


REWRITE = {"id": "r-1", "tags": [], "text": "你好，请你稍等。"}
DRAFT = {"id": "d-1", "tags": [], "channel": "chat", "message": "订单DD1没到，气死了！"}


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"text": 3}, "字段 'text' 应是字符串"),
        ({"tags": ["ok", 1]}, "字段 'tags[1]' 应是字符串"),
        ({"must_contain": "您"}, "字段 'must_contain' 应是列表"),
        ({"expected": ["x"]}, "字段 'expected' 应是字符串或 null"),
    ],
)
def test_a_dataset_line_with_a_wrong_type_is_refused_with_file_and_line(tmp_path, bad, expected):
    path = _write(tmp_path, "rewrite.jsonl", [REWRITE, "", {**REWRITE, "id": "r-2", **bad}])
    with pytest.raises(DatasetError) as err:
        datasets.load_kind("rewrite", directory=tmp_path)
    (problem,) = err.value.context["problems"]
    assert problem == f"{path}:3: {expected}" or problem.startswith(f"{path}:3: {expected}")


def test_rule_ids_are_checked_by_the_model_with_the_packs_as_context():
    ok = case_models.RewriteCase.model_validate({**REWRITE, "expected_rules": ["a"]})
    assert ok.expected_rules == ["a"]  # no context: no names to check against
    with pytest.raises(ValidationError):
        case_models.RewriteCase.model_validate(
            {**REWRITE, "expected_rules": ["a"]}, context={"rules": {"b"}}
        )


HELDOUT_REWRITE = {
    **REWRITE,
    "id": "rh-1",
    "compliant": False,
    "flag_spans": ["请你"],
    "must_not_flag": ["稍等"],
    "reference": "您好，请您稍候。",
    "notes": None,
}
HELDOUT_DRAFT = {
    **DRAFT,
    "id": "dh-1",
    "script": "simplified",
    "language": "zh",
    "issues": [
        {"topic": "物流", "acts": ["催单"], "fault": "unknown", "summary": "订单没到"},
    ],
    "slots": {
        "order": ["DD1"],
        "amounts": [{"text": "299元", "role": "price"}],
        "name": None,
    },
    "insults": [],
    "injection": [],
    "injected_figures": [],
    "reply_must": ["道歉"],
    "reply_must_not": ["承诺退款"],
}


def test_heldout_files_load_as_the_heldout_split_of_their_kind(tmp_path):
    _write(tmp_path, "rewrite.jsonl", [REWRITE])
    _write(tmp_path, "rewrite-heldout.jsonl", [HELDOUT_REWRITE])
    _write(tmp_path, "draft-heldout.jsonl", [HELDOUT_DRAFT])
    _write(
        tmp_path,
        "retrieval-heldout.jsonl",
        [{"id": "q", "tags": [], "query": "q", "relevant": ["x"]}],
    )
    both = datasets.load("rewrite", directory=tmp_path)
    assert {(c.id, c.split) for c in both.cases} == {("r-1", "dev"), ("rh-1", "heldout")}
    assert both.cases[0]["compliant"] is False and both.cases[0]["flag_spans"] == ["请你"]
    assert [c.id for c in datasets.load("rewrite", directory=tmp_path, split="dev").cases] == [
        "r-1"
    ]
    draft = datasets.load("draft", directory=tmp_path, split="heldout").cases[0]
    assert draft.split == "heldout" and draft["slots"]["order"] == ["DD1"]
    assert draft["slots"]["phone"] == []  # defaults filled in
    assert datasets.load("retrieval", directory=tmp_path).cases[0].split == "heldout"
    with pytest.raises(DatasetError, match="没有 draft"):
        datasets.load("draft", directory=tmp_path, split="dev")


@pytest.mark.parametrize(
    "name, case, expected",
    [
        ("rewrite.jsonl", {**HELDOUT_REWRITE}, "未知字段 'compliant'"),  # dev: no held-out fields
        (
            "rewrite-heldout.jsonl",
            {**HELDOUT_REWRITE, "flag_spans": ["没有"]},
            "'没有' 不在 text 中",
        ),
        ("rewrite-heldout.jsonl", {**HELDOUT_REWRITE, "must_not_flag": ["x"]}, "'x' 不在 text 中"),
        ("rewrite-heldout.jsonl", {**HELDOUT_REWRITE, "compliant": "no"}, "'compliant' 应是 true"),
        ("draft-heldout.jsonl", {**HELDOUT_DRAFT, "language": "fr"}, "应是 zh 或 en，而不是 'fr'"),
        (
            "draft-heldout.jsonl",
            {**HELDOUT_DRAFT, "script": "latin"},
            "应是 simplified 或 traditional",
        ),
        (
            "draft-heldout.jsonl",
            {**HELDOUT_DRAFT, "issues": [{**HELDOUT_DRAFT["issues"][0], "fault": "theirs"}]},
            "字段 'issues[0].fault' 应是 ours 或 not_ours 或 customer 或 unknown",
        ),
        (
            "draft-heldout.jsonl",
            {**HELDOUT_DRAFT, "slots": {"amounts": [{"text": "1元"}]}},
            "字段 'slots.amounts[0]' 缺少字段 'role'",
        ),
        ("draft-heldout.jsonl", {**HELDOUT_DRAFT, "slots": {"mood": []}}, "未知字段 'mood'"),
        ("draft-heldout.jsonl", {**HELDOUT_DRAFT, "facts": ["DD2"]}, "事实 'DD2' 不在 message 中"),
        (
            "retrieval-heldout.jsonl",
            {"id": "q", "tags": [], "query": "q", "relevant": []},
            "至少要有",
        ),
        (
            "retrieval-heldout.jsonl",
            {"id": "q", "tags": [], "query": "q", "relevant": ["x"], "notes": "n"},
            "未知字段 'notes'",
        ),
    ],
)
def test_bad_heldout_lines_are_refused_with_file_and_line(tmp_path, name, case, expected):
    path = _write(tmp_path, name, [case])
    with pytest.raises(DatasetError) as err:
        datasets.load_kind(datasets.kind_of(path), [path])
    assert any(p.startswith(f"{path}:1: ") and expected in p for p in err.value.context["problems"])


def test_the_readme_documents_every_field_of_every_split():
    readme = (REPO / "evals" / "datasets" / "README.md").read_text(encoding="utf-8")
    names = {
        name
        for models in case_models.MODELS.values()
        for model in models.values()
        for name in model.model_fields
    }
    names |= set(case_models.Slots.model_fields) | set(case_models.Issue.model_fields)
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"evals/datasets/README.md does not document {missing}"


# --------------------------------------------------------------------------- LLM replies


def _closed(schema: dict) -> None:
    """Every object of ``schema`` as OpenAI's strict mode wants it."""
    if schema.get("type") == "object":
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
    assert "$ref" not in schema and "$defs" not in schema and "title" not in schema
    for sub in schema.get("properties", {}).values():
        _closed(sub)
    if "items" in schema:
        _closed(schema["items"])


@pytest.mark.parametrize(
    "sent, model",
    [
        (validate.REWRITE_SCHEMA, reply_models.RewriteAnswer),
        (drafting.DRAFT_SCHEMA, reply_models.DraftReply),
    ],
)
def test_the_response_format_schema_is_generated_from_the_reply_model(sent, model):
    assert sent == strict_json_schema(model)
    assert set(sent["properties"]) == set(model.model_fields)
    _closed(sent)
    fmt = call.response_format("json_schema", sent, "x")
    assert fmt["json_schema"]["schema"] == strict_json_schema(model)
    assert fmt["json_schema"]["strict"] is True


def test_the_schemas_are_those_the_recordings_were_made_with():
    # The cache key hashes the schema: a changed schema would make every cassette stale.
    # The rewrite asks for the compact answer: the rewritten text only.
    assert validate.REWRITE_SCHEMA["properties"] == {"rewritten": {"type": "string"}}
    assert validate.REWRITE_SCHEMA["required"] == ["rewritten"]
    assert drafting.DRAFT_SCHEMA["required"] == ["reply", "citations"]


def test_parse_rewrite_stays_lenient():
    parsed = validate.parse_rewrite(
        {
            "rewritten": "您好",
            "changes": [{"before": "你", "after": "您", "rule": None, "x": 1}, {"before": 12}],
            "note": "ignored",
        }
    )
    assert parsed.rewritten == "您好"
    first, second = parsed.hints
    assert (first.before, first.after, first.rule, first.quote) == ("你", "您", "", "")
    assert second.before == "12" and second.after == ""
    assert validate.parse_rewrite({"rewritten": "x"}).hints == []  # no changes key
    assert validate.parse_rewrite({"rewritten": "x", "changes": None}).hints == []
    assert (
        validate.parse_rewrite({"rewritten": "x", "changes": [{"before": ["a"]}]}).hints[0].before
        == '["a"]'
    )


@pytest.mark.parametrize(
    "data, expected",
    [
        ({}, "缺少字段 'rewritten'"),
        ({"rewritten": "  "}, "rewritten 应是非空字符串"),
        ({"rewritten": 3}, "rewritten 应是字符串"),
        ({"rewritten": "x", "changes": "y"}, "changes 应是列表"),
    ],
)
def test_a_malformed_rewrite_reply_is_a_type_error_not_a_validation_error(data, expected):
    with pytest.raises(TypeError) as err:
        validate.parse_rewrite(data)
    assert not isinstance(err.value, ValidationError) and expected in str(err.value)


def test_changes_written_as_strings_are_hints_not_a_reason_to_refuse_the_answer():
    hints = validate.parse_rewrite(
        {"rewritten": "您好", "changes": ["你好 → 您好", "“可能”改为“是”", "称呼客户用您", 7]}
    ).hints
    assert [(h.before, h.after, h.explanation) for h in hints] == [
        ("你好", "您好", ""),
        ("可能", "是", ""),
        ("", "", "称呼客户用您"),
    ]


def test_parse_draft_stays_lenient_and_refuses_what_it_refused():
    text, cites = drafting.parse_draft(
        {"reply": " 您好 ", "citations": [{"passage_id": "p#1", "quote": None, "page": 2}], "z": 0}
    )
    assert text == "您好" and cites == [("p#1", "")]
    assert drafting.parse_draft({"reply": "x"}) == ("x", [])
    for bad in (
        {"reply": ""},
        {"reply": "x", "citations": {"a": 1}},
        {"reply": "x", "citations": [1]},
    ):
        with pytest.raises(TypeError):
            drafting.parse_draft(bad)
