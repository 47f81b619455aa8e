"""The offline engine against the evaluation dataset, and the RewriteResult contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drafter import settings
from drafter.errors import InputError
from drafter.knowledge import corpus
from drafter.rules import pack as rulepack
from drafter.rules.engine import check, findings, line_col
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.text.facts import fact_spans
from drafter.types import apply_changes

DATASET = settings.evals_dir() / "datasets" / "rewrite.jsonl"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "rewrite"
FIELDS = {
    "id",
    "tags",
    "text",
    "expected",
    "must_contain",
    "must_not_contain",
    "expected_rules",
    "expected_flags",
}


def _cases() -> list[dict]:
    return [
        json.loads(line)
        for line in DATASET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


CASES = _cases()
BY_ID = {c["id"]: c for c in CASES}


def assert_contract(result) -> None:
    """What every RewriteResult promises (DESIGN.md): offsets, no overlaps, exact application."""
    original = result.original
    last_end = -1
    for c in sorted(result.changes, key=lambda c: c.start):
        assert 0 <= c.start < c.end <= len(original)
        assert original[c.start : c.end] == c.before
        assert c.start >= last_end, "changes overlap"
        assert c.before != c.after
        last_end = c.end
    assert apply_changes(original, result.changes) == result.rewritten
    for f in result.flags:
        assert 0 <= f.start < f.end <= len(original)
        assert original[f.start : f.end] == f.text
        assert f.message
    for fact in fact_spans(original):
        for c in result.changes:
            if c.end <= fact.start or c.start >= fact.end:
                continue
            # a change may move a clause that holds a fact, never alter or cut it
            assert c.start <= fact.start and fact.end <= c.end, f"{c.rule} cuts fact {fact.text}"
            assert c.after.count(fact.text) >= c.before.count(fact.text), (
                f"{c.rule} drops {fact.text}"
            )


# --------------------------------------------------------------------------- dataset


def test_dataset_schema_and_size():
    assert len(CASES) >= 80
    assert len(BY_ID) == len(CASES), "ids are unique"
    pack_ids = {r.id for r in rulepack.get_pack().rules}
    covered = set()
    for c in CASES:
        assert set(c) == FIELDS, c["id"]
        assert isinstance(c["text"], str) and c["text"]
        assert c["expected"] is None or isinstance(c["expected"], str)
        assert all(isinstance(t, str) for t in c["tags"])
        assert set(c["expected_rules"]) <= pack_ids and set(c["expected_flags"]) <= pack_ids
        covered |= set(c["expected_rules"]) | set(c["expected_flags"])
    assert covered == pack_ids, f"rules without a dataset case: {pack_ids - covered}"


# The dev set's expected outputs are measured by the eval (tests/test_eval.py gates the
# aggregate figures); tests here only assert properties every rewrite must have.


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_rewrite_keeps_the_contract_and_is_idempotent(case):
    result = rewrite(case["text"])
    assert result.engine == "offline"
    assert result.original == case["text"]
    assert_contract(result)
    twice = rewrite(result.rewritten)
    assert twice.changes == []
    assert twice.rewritten == result.rewritten


# --------------------------------------------------------------------------- explanations, citations


def _explanation_keywords() -> dict[str, list[str]]:
    out = {}
    for line in (FIXTURES / "explanations.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rule, _, words = line.partition(" || ")
            out[rule.strip()] = [w.strip() for w in words.split(" ; ")]
    return out


def test_every_change_is_explained_specifically_and_cited_verbatim():
    keywords = _explanation_keywords()
    seen = set()
    for case in CASES:
        for c in rewrite(case["text"]).changes:
            seen.add(c.rule)
            assert c.before in c.explanation, "the explanation names what changed"
            assert (c.after in c.explanation) if c.after else True
            for word in keywords.get(c.rule, []):
                assert word in c.explanation, (c.rule, word)
            assert c.citation is not None
            assert corpus.verify(c.citation), c.citation
    assert set(keywords) <= seen


def test_every_flag_carries_its_citation_and_a_suggestion():
    for case in CASES:
        for f in rewrite(case["text"]).flags:
            assert f.citation is not None and corpus.verify(f.citation)
            assert f.suggestion


def test_json_contract_shape():
    result = rewrite(BY_ID["mail-002"]["text"])
    d = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert set(d) == {"original", "rewritten", "engine", "changes", "flags", "warnings"}
    assert d["engine"] == "offline"
    assert set(d["changes"][0]) == {
        "rule",
        "start",
        "end",
        "before",
        "after",
        "explanation",
        "citation",
    }
    assert set(d["changes"][0]["citation"]) == {"source", "passage_id", "quote"}
    assert set(d["flags"][0]) == {
        "rule",
        "start",
        "end",
        "text",
        "message",
        "suggestion",
        "citation",
    }


# --------------------------------------------------------------------------- input handling


def test_empty_or_blank_draft_is_refused():
    for text in ("", "   \n\t "):
        with pytest.raises(InputError):
            rewrite(text)


def test_too_long_draft_is_refused(monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "50")
    with pytest.raises(InputError):
        rewrite(BY_ID["mail-001"]["text"])


def test_text_without_chinese_comes_back_unchanged_with_a_warning():
    text = BY_ID["fmt-003"]["text"]
    result = rewrite(text)
    assert result.rewritten == text and not result.changes and not result.flags
    assert result.warnings


def test_control_characters_are_kept_and_never_crash():
    text = (
        "\x07" + BY_ID["pol-001"]["text"] + "\x1b[0m\x0b\u200b" + BY_ID["def-001"]["text"] + "\x7f"
    )
    result = rewrite(text)
    assert_contract(result)
    assert {c.rule for c in result.changes} == {"polite-pronoun", "definite"}
    for ch in "\x07\x1b\x0b\u200b\x7f":
        assert ch in result.rewritten


def test_crlf_emoji_and_punctuation_widths_survive_exactly():
    for case_id in ("fmt-001", "fmt-002", "fmt-004", "mail-004"):
        case = BY_ID[case_id]
        result = rewrite(case["text"])
        assert result.rewritten == case["expected"]
        assert result.rewritten.count("\r\n") == case["text"].count("\r\n")


# --------------------------------------------------------------------------- check


def test_check_lists_changes_and_flags_with_positions():
    text = BY_ID["mail-002"]["text"]
    found = check(text)
    result = rewrite(text)
    assert len(found) == len(result.changes) + len(result.flags)
    assert [f.start for f in found] == sorted(f.start for f in found)
    for f in found:
        assert text[f.start : f.end] == f.text
        assert (f.line, f.col) == line_col(text, f.start)
        lines = text.split("\n")
        assert lines[f.line - 1][f.col - 1 :].startswith(f.text.split("\n")[0])
    assert {f.kind for f in found} == {"change", "flag"}


def test_check_is_empty_for_a_compliant_draft():
    assert check(BY_ID["ok-003"]["text"]) == []
    assert findings(rewrite(BY_ID["ok-001"]["text"])) == []
