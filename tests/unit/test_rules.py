"""The rule pack: loading, validation, grounding, and each rule against its fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from drafter import settings
from drafter import state as state_mod
from drafter.errors import RulePackError
from drafter.knowledge import corpus
from drafter.rules import pack as rulepack
from drafter.rules.engine import analyse
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.text.script import to_traditional
from drafter.types import apply_changes

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rules"
BUNDLED = settings.bundled_knowledge_dir() / "rules"


def _lines(path: Path) -> list[str]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            out.append(raw)
    return out


def _unescape(text: str) -> str:
    return text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")


def _split(line: str) -> tuple[str, list[str]]:
    left, _, right = line.partition(" || ")
    return _unescape(left.strip()), [p.strip() for p in right.split(" ; ") if p.strip()]


def _findings_of(rule_id: str, text: str) -> list[str]:
    """The rule's findings on ``text`` in fixture notation, in text order."""
    result = rewrite(text)
    found = [(c.start, f"{c.before}->{c.after}") for c in result.changes if c.rule == rule_id]
    found += [(f.start, f"!{f.text}") for f in result.flags if f.rule == rule_id]
    return [notation for _, notation in sorted(found)]


def _fixture_cases(kind: str) -> list[tuple[str, str, str]]:
    cases = []
    for path in sorted(FIXTURES.glob(f"*.{kind}.txt")):
        rule_id = path.name[: -len(f".{kind}.txt")]
        for i, line in enumerate(_lines(path), 1):
            cases.append(pytest.param(rule_id, line, id=f"{rule_id}-{kind}-{i}"))
    return cases


def test_bundled_pack_loads_every_rule_file():
    pack = rulepack.load_pack(BUNDLED)
    files = sorted(p.stem for p in BUNDLED.glob("*.yaml"))
    assert sorted(r.id for r in pack.rules) == files
    assert len(pack.rules) >= 12


@pytest.mark.parametrize("rule", [p.stem for p in sorted(BUNDLED.glob("*.yaml"))])
def test_every_rule_has_pass_and_fail_fixtures(rule):
    for kind in ("pass", "fail"):
        path = FIXTURES / f"{rule}.{kind}.txt"
        assert path.is_file(), f"missing fixture {path.name}"
        assert len(_lines(path)) >= 2, f"{path.name} needs at least two cases"


@pytest.mark.parametrize("rule_id,line", _fixture_cases("pass"))
def test_should_pass(rule_id, line):
    text, _ = _split(line)
    assert _findings_of(rule_id, text) == []


@pytest.mark.parametrize("rule_id,line", _fixture_cases("fail"))
def test_should_fail_with_exact_findings(rule_id, line):
    text, expected = _split(line)
    assert expected, f"fail fixture without expected findings: {line}"
    assert _findings_of(rule_id, text) == expected


# --------------------------------------------------------------------------- grounding


@pytest.mark.parametrize("rule", [p.stem for p in sorted(BUNDLED.glob("*.yaml"))])
def test_every_bundled_rule_is_grounded_in_a_verbatim_quote(rule):
    pack = rulepack.get_pack()
    citation = pack.citation(rule)
    r = pack.by_id(rule)
    assert citation is not None, f"{rule}: quote not found in the manuals: {r.evidence.quote}"
    assert citation.quote == r.evidence.quote
    assert citation.source == r.evidence.manual
    assert corpus.verify(citation), "passage_id does not contain the quote"
    assert citation.passage_id.startswith(r.evidence.slug + "#")


def test_ungrounded_rule_still_rewrites_with_null_citation_and_a_warning():
    pack = rulepack.load_pack(FIXTURES / "ungrounded")
    assert pack.ungrounded() == ["ungrounded-rule"]
    for line in _lines(FIXTURES / "ungrounded" / "cases.txt"):
        text, (expected,) = _split(line)
        result = analyse(text, pack)
        assert result.rewritten == expected
        assert result.changes and all(c.citation is None for c in result.changes)
        assert any("ungrounded-rule" in w for w in result.warnings)
        assert result.to_dict()["changes"][0]["citation"] is None


def test_no_corpus_means_ungrounded_not_broken():
    pack = rulepack.load_pack(BUNDLED, locate=lambda quote, slug: None)
    assert sorted(pack.ungrounded()) == sorted(r.id for r in pack.rules)


# --------------------------------------------------------------------------- validation


def _invalid_cases():
    return [
        pytest.param(*_split(line), id=_split(line)[0])
        for line in _lines(FIXTURES / "invalid" / "expected.txt")
    ]


@pytest.mark.parametrize("pack,problems", _invalid_cases())
def test_invalid_pack_is_refused_naming_file_rule_and_problem(pack, problems):
    with pytest.raises(RulePackError) as err:
        rulepack.load_pack(FIXTURES / "invalid" / pack, locate=lambda q, s: None)
    message = str(err.value)
    for problem in problems:
        assert problem in message
    assert err.value.context["problems"], "problems are listed one by one in the error context"


def test_every_invalid_pack_has_an_expectation():
    listed = {_split(line)[0] for line in _lines(FIXTURES / "invalid" / "expected.txt")}
    dirs = {p.name for p in (FIXTURES / "invalid").iterdir() if p.is_dir()}
    assert listed == dirs


def test_missing_rules_folder_is_a_rule_pack_error(tmp_path):
    with pytest.raises(RulePackError):
        rulepack.load_pack(tmp_path / "nowhere")
    with pytest.raises(RulePackError):
        rulepack.load_pack(tmp_path)  # a folder without rules


# --------------------------------------------------------------------------- a team's own rule


@pytest.fixture
def knowledge_with_extra_rule(tmp_path, monkeypatch) -> Path:
    """A knowledge folder = the bundled manuals and rules + one rule file of the team's own."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(settings.bundled_knowledge_dir(), knowledge)
    for path in (FIXTURES / "extra").glob("*.yaml"):
        shutil.copy(path, knowledge / "rules" / path.name)
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(knowledge))
    return knowledge


def test_a_team_adds_a_rule_with_one_yaml_file(knowledge_with_extra_rule):
    pack = rulepack.get_pack()
    assert "no-qin" in [r.id for r in pack.rules]
    assert pack.citation("no-qin") is not None
    for line in _lines(FIXTURES / "extra" / "cases.txt"):
        text, (expected,) = _split(line)
        assert rewrite(text).rewritten == expected


def test_pack_is_cached_and_reloaded_when_a_rule_changes(knowledge_with_extra_rule, monkeypatch):
    first = rulepack.get_pack()
    assert rulepack.get_pack() is first
    monkeypatch.setattr(state_mod, "RECHECK_SECONDS", 0.0)  # look at the files on every call
    assert rulepack.get_pack() is first
    path = knowledge_with_extra_rule / "rules" / "no-qin.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("您好", "您"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    second = rulepack.get_pack()
    assert second is not first
    line = _lines(FIXTURES / "extra" / "cases.txt")[0]
    text, (expected,) = _split(line)
    result = rewrite(text)
    assert result.rewritten != expected
    assert apply_changes(text, result.changes) == result.rewritten


@pytest.mark.parametrize("line", _lines(FIXTURES / "script.txt"))
def test_replacements_keep_the_script_of_what_they_replace(line):
    simplified, (traditional,) = _split(line)
    assert to_traditional(simplified) == traditional
