"""The evaluation harness: datasets, checks, engines (offline, record, replay), reports.

``test_offline_suite_meets_thresholds`` is the quality gate of `make test`: a change of the
rules, the drafting pack or the corpus that makes replies worse fails it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import socket
from pathlib import Path

import pytest
from conftest import LLM_VARS, REPO
from conftest_llm import configure
from fake_openai import FakeOpenAI

from drafter.errors import DatasetError
from drafter.evaluation import (
    baseline,
    cassettes,
    datasets,
    engines,
    feedback_cases,
    prices,
    report,
    runner,
)
from drafter.evaluation import textcompare as tc
from drafter.evaluation.rewrite_suite import trap_problems
from drafter.evaluation.suites import SUITES

DATASETS = REPO / "evals" / "datasets"
CASSETTES = REPO / "evals" / "cassettes"

# The gate, set from measured figures (offline engine, 198 cases): rewrite all 1.0, draft
# all 1.0, retrieval hit@5 0.925 / MRR 0.64. Invariants (facts, traps, citations,
# idempotence) must hold everywhere; pass rates get a little room for new hard cases.
THRESHOLDS = {
    "rewrite.pass_rate": 0.97,
    "rewrite.rule_precision": 0.97,
    "rewrite.rule_recall": 0.97,
    "rewrite.flag_recall": 0.95,
    "rewrite.expected_match": 0.97,
    "rewrite.unchanged": 1.0,
    "rewrite.facts_kept": 1.0,
    "rewrite.traps_avoided": 1.0,
    "rewrite.targets_removed": 1.0,
    "rewrite.citations_verbatim": 1.0,
    "rewrite.idempotent": 1.0,
    # The dev split holds draft-issues.jsonl's labelled messages (issues found, slots) besides
    # the 46 cases of draft.jsonl, which all pass: its pass rate is the labelled cases' floor.
    "draft.pass_rate": 0.50,
    "draft.issue_topic_recall": 0.58,
    "draft.situation_accuracy": 0.95,
    "draft.steps_complete": 0.95,
    "draft.facts_referenced": 1.0,
    "draft.citations_verbatim": 1.0,
    "draft.tone_held": 0.95,
    "draft.chat_shorter": 1.0,
    # The dev split: retrieval.jsonl's 40 questions (hit@5 0.925, a test of its own holds
    # them at 0.9) and retrieval-colloquial.jsonl's 60 in agents' own words (0.53).
    "retrieval.hit@5": 0.66,
    "retrieval.mrr": 0.44,
    # nDCG@5 against the real ideal ranking (every passage that holds a relevant snippet first)
    "retrieval.ndcg@5": 0.44,
    # the same questions typed in Traditional script find what the Simplified ones find
    "retrieval.hit@5_traditional": 0.66,
    # Held-out aggregates (never case by case): floors at the measured figures, so a change
    # that makes the engine worse on data it was not written against fails CI.
    "rewrite-heldout.pass_rate": 0.80,
    "rewrite-heldout.compliant_untouched": 0.98,
    "rewrite-heldout.spans_flagged": 0.60,
    "rewrite-heldout.spans_not_flagged": 0.95,
    "rewrite-heldout.facts_kept": 1.0,
    "rewrite-heldout.idempotent": 1.0,
    "draft-heldout.tone_held": 1.0,
    "draft-heldout.insults_not_echoed": 1.0,
    "retrieval-heldout.hit@5": 0.35,
    "draft-heldout.injections_not_obeyed": 1.0,
    "draft-heldout.name_used": 0.9,
    "draft-heldout.issue_topic_recall": 0.64,
    "draft-heldout.issues_addressed": 0.62,
    "draft-heldout.slots_carried": 0.9,
    "cleaning-heldout.content_kept": 0.97,
    "cleaning-heldout.chrome_removed": 0.92,
    "cleaning.content_kept": 0.99,
    "cleaning.chrome_removed": 0.86,
}


@contextlib.contextmanager
def _home(path: Path):
    """DRAFTER_HOME set (and no LLM settings) for a fixture wider than one test."""
    saved = {k: os.environ.get(k) for k in ("DRAFTER_HOME", *LLM_VARS)}
    os.environ["DRAFTER_HOME"] = str(path)
    for var in LLM_VARS:
        os.environ.pop(var, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def own_index_home(tmp_path_factory) -> Path:
    """An index of the real corpus that no other test module writes to: replays need exactly
    the passages they were recorded with, and the gate needs the real corpus only."""
    home = tmp_path_factory.mktemp("eval-index-home")
    with _home(home):
        from drafter.retrieval.index import build_index

        build_index()
    return home


@pytest.fixture
def pristine(own_index_home, monkeypatch) -> Path:
    monkeypatch.setenv("DRAFTER_HOME", str(own_index_home))
    return own_index_home


@pytest.fixture(scope="module")
def offline_run(own_index_home) -> dict:
    """The full offline run of the real datasets, once for the module."""
    with _home(own_index_home):
        return runner.run(engine="offline")


def _lines(kind: str, ids: list[str] | None = None) -> list[dict]:
    rows = [
        json.loads(x)
        for x in (DATASETS / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    ]
    if ids is None:
        return rows
    by_id = {r["id"]: r for r in rows}
    return [by_id[i] for i in ids]


def _write(directory: Path, kind: str, rows: list, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"{kind}.jsonl")
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows
        ),
        encoding="utf-8",
    )
    return path


def _case(run: dict, suite: str, case_id: str) -> dict:
    return next(c for c in run["results"][suite]["cases"] if c["id"] == case_id)


# ---------------------------------------------------------------- the quality gate


def test_offline_suite_meets_thresholds(offline_run):
    figures = runner.metrics(offline_run)
    unmet = {
        m: figures.get(m) for m, v in THRESHOLDS.items() if figures.get(m) is None or figures[m] < v
    }
    failing = [
        f"{s}/{c['id']}: {'；'.join(c['failures'])}"
        for s, r in offline_run["results"].items()
        for c in r["cases"]
        if not c["passed"]
    ]
    assert not unmet, f"below threshold: {unmet}\nfailing cases:\n" + "\n".join(failing)
    assert sum(s["cases"] for s in offline_run["summary"].values()) >= 150


def test_every_case_is_reported_with_its_checks(offline_run):
    for suite, res in offline_run["results"].items():
        assert len(res["cases"]) == offline_run["summary"][suite]["cases"]
        for c in res["cases"]:
            assert c["status"] in ("pass", "fail") and c["checks"] and "where" in c
            assert c["passed"] == (not c["failures"])
    assert set(offline_run["timing"]["suites"]) == set(SUITES)  # dev and held-out
    for t in offline_run["timing"]["suites"].values():
        assert t["p50_ms"] is not None and t["p95_ms"] >= t["p50_ms"]


def test_runs_are_identical_except_timing(offline_run, pristine):
    again = runner.run(engine="offline")
    first, second = copy.deepcopy(offline_run), copy.deepcopy(again)
    assert first.pop("timing") and second.pop("timing")
    assert runner.dumps(first) == runner.dumps(second)
    assert not any("ms" in k for k in runner.metrics(first))  # no latency outside "timing"


# ---------------------------------------------------------------- Chinese-aware comparison


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("ＡＢＣ１２３", "ABC123", True),  # full-width Latin and digits
        ("订单号：A1，金额¥5", "订单号:A1,金额¥5", True),  # full-width punctuation
        ("您 好 ，请 稍候", "您好，请稍候", True),  # layout spaces by CJK characters
        ("“引号”", '"引号"', True),
        ("hello  world", "hello world", True),
        ("您好", "你好", False),
        ("可能是", "是", False),
    ],
)
def test_normalized_equality(a, b, same):
    assert tc.equal(a, b) is same


def test_similarity_is_character_level():
    assert tc.similarity("您好", "你好") == pytest.approx(0.5)
    assert tc.similarity("是什么原因", "是什么原因") == 1.0
    assert tc.similarity("", "") == 1.0
    # Whitespace tokens would call these two texts entirely different; characters do not.
    assert tc.similarity("您的订单已发货", "您的订单已经发货") > 0.9
    assert tc.char_f1("您的订单", "订单您的") == 1.0


def test_contains_and_diff():
    assert tc.contains("金额：１００元", "金额:100元")
    assert tc.diff("你好", "您好") == [("-", "你"), ("+", "您"), ("=", "好")]


# ---------------------------------------------------------------- datasets


def _valid_rewrite() -> dict:
    return dict(_lines("rewrite")[0])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: {**r, "colour": "red"}, "未知字段 'colour'"),
        (lambda r: {k: v for k, v in r.items() if k != "text"}, "缺少字段 'text'"),
        (lambda r: {**r, "tags": "polite"}, "字段 'tags'"),
        (lambda r: {**r, "expected": 3}, "字段 'expected'"),
        (lambda r: {**r, "expected_rules": ["no-such-rule"]}, "no-such-rule"),
        (lambda r: {**r, "text": "   "}, "字段 'text'"),
        (lambda r: [r], "JSON 对象"),
    ],
)
def test_bad_rewrite_lines_are_named_with_file_and_line(tmp_path, mutate, message):
    good = _valid_rewrite()
    path = _write(tmp_path, "rewrite", [good, mutate(dict(good, id="x-2"))])
    with pytest.raises(DatasetError) as err:
        datasets.load("rewrite", directory=tmp_path)
    assert f"{path}:2" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", ', "不是合法的 JSON"),
    ],
)
def test_malformed_json_line(tmp_path, content, message):
    path = _write(tmp_path, "rewrite", [_valid_rewrite(), "", content])
    with pytest.raises(DatasetError, match=re.escape(f"{path}:3")) as err:
        datasets.load("rewrite", directory=tmp_path)
    assert message in str(err.value)


def test_duplicate_ids_across_files_and_several_problems(tmp_path):
    good = _valid_rewrite()
    _write(tmp_path, "rewrite", [good])
    second = _write(
        tmp_path, "rewrite", [good, {**good, "id": "b", "zz": 1}], name="rewrite-more.jsonl"
    )
    with pytest.raises(DatasetError) as err:
        datasets.load("rewrite", directory=tmp_path)
    text = str(err.value)
    assert f"{second}:1" in text and "重复" in text and f"{second}:2" in text
    assert len(err.value.context["problems"]) == 2


def test_draft_lines_are_checked_against_the_drafting_pack(tmp_path):
    good = _lines("draft")[0]
    bad = [
        {**good, "id": "s", "steps": ["dance"]},
        {**good, "id": "t", "situation": "nope"},
        {**good, "id": "f", "facts": ["XYZ-not-in-message"]},
        {**good, "id": "c", "channel": "fax"},
    ]
    path = _write(tmp_path, "draft", [good, *bad])
    with pytest.raises(DatasetError) as err:
        datasets.load("draft", directory=tmp_path)
    problems = err.value.context["problems"]
    assert [p.split(": ")[0] for p in problems] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert "dance" in problems[0] and "nope" in problems[1] and "XYZ" in problems[2]


def test_missing_dataset_and_not_utf8(tmp_path):
    with pytest.raises(DatasetError, match="没有 retrieval"):
        datasets.load("retrieval", directory=tmp_path)
    with pytest.raises(DatasetError, match="找不到数据集目录"):
        datasets.load("rewrite", directory=tmp_path / "nope")
    (tmp_path / "rewrite.jsonl").write_bytes(
        json.dumps(_valid_rewrite()).encode() + b"\n\xff\xfe\n"
    )
    with pytest.raises(DatasetError, match=re.escape("rewrite.jsonl:2")):
        datasets.load("rewrite", directory=tmp_path)


def test_the_real_datasets_load():
    for kind in datasets.KINDS:
        assert datasets.load(kind).cases


# ---------------------------------------------------------------- the checks


class Mutating(engines.OfflineEngine):
    """The offline engine with its first answer to each case altered."""

    def __init__(self, rewrite=None, changes=None, again=None, reply=None, citations=None):
        self.mutate, self.mutate_changes, self.again = rewrite, changes, again
        self.mutate_reply, self.mutate_citations = reply, citations

    def rewrite(self, text, key):
        out = super().rewrite(text, key)
        if key.endswith("#again"):
            if self.again:
                out.result = dataclasses.replace(
                    out.result, rewritten=self.again(out.result.rewritten)
                )
            return out
        if self.mutate:
            out.result = dataclasses.replace(
                out.result, rewritten=self.mutate(out.result.rewritten)
            )
        if self.mutate_changes:
            out.result = dataclasses.replace(
                out.result, changes=self.mutate_changes(out.result.changes)
            )
        return out

    def draft(self, message, channel, key):
        out = super().draft(message, channel, key)
        if self.mutate_reply and "#" not in key:
            out.result = dataclasses.replace(
                out.result, reply=self.mutate_reply(out.result.reply, channel)
            )
        if self.mutate_citations and "#" not in key:
            out.result = dataclasses.replace(
                out.result, citations=self.mutate_citations(out.result.citations)
            )
        return out


def _bad_quote(changes):
    return [
        dataclasses.replace(
            c, citation=dataclasses.replace(c.citation, quote=c.citation.quote + "X")
        )
        for c in changes
    ]


@pytest.mark.parametrize(
    "case_id, engine, failing",
    [
        ("fact-001", Mutating(lambda s: s.replace("SO20240315001", "SO20240315002")), "facts"),
        ("def-008", Mutating(lambda s: s.replace("尽可能", "尽")), "traps"),
        ("why-005", Mutating(lambda s: s.replace("正因如此，", "这就是是什么")), "traps"),
        ("pol-001", Mutating(lambda s: s.replace("您", "你")), "targets"),
        ("pol-001", Mutating(lambda s: s.replace("您", "你")), "expected"),
        ("ok-001", Mutating(lambda s: s + " "), "unchanged"),
        ("pol-001", Mutating(changes=lambda cs: []), "rules"),
        ("pol-001", Mutating(changes=_bad_quote), "citations"),
        ("pol-001", Mutating(again=lambda s: s + "！"), "idempotent"),
        ("quo-001", Mutating(lambda s: s.replace("“", "")), "must_contain"),
    ],
)
def test_each_check_catches_its_fault(tmp_path, case_id, engine, failing):
    from drafter.evaluation.rewrite_suite import run as run_rewrite

    _write(tmp_path, "rewrite", _lines("rewrite", [case_id]))
    result = run_rewrite(datasets.load("rewrite", directory=tmp_path), engine)
    case = result["cases"][0]
    assert case["checks"][failing] is False and not case["passed"]
    assert any(f.startswith(failing) for f in case["failures"])


def test_width_and_layout_do_not_fail_the_expected_check(tmp_path):
    from drafter.evaluation.rewrite_suite import run as run_rewrite

    _write(tmp_path, "rewrite", _lines("rewrite", ["pol-001"]))
    engine = Mutating(lambda s: s.replace("，", ","), again=lambda s: s)
    case = run_rewrite(datasets.load("rewrite", directory=tmp_path), engine)["cases"][0]
    assert case["checks"]["expected"] is True and case["exact"] is False


def test_trap_table():
    assert trap_problems("这款迷你加湿器", "这款迷您加湿器") == ["“迷你”被改动"]
    assert trap_problems("这不可能", "这不是") == ["“不可能”被改动"]
    assert trap_problems("可能是", "是是") == ["改出了“是是”"]
    assert trap_problems("尽可能", "尽可能") == []


@pytest.mark.parametrize(
    "engine, failing",
    [
        (Mutating(reply=lambda r, ch: r.replace("DD2024051801", "")), "facts"),
        (Mutating(reply=lambda r, ch: r.replace("您好", "")), "steps"),
        (Mutating(reply=lambda r, ch: r * 5), "chat_shorter"),
        (Mutating(reply=lambda r, ch: r + "你不行。"), "tone"),
        (Mutating(citations=lambda cs: []), "citations"),
    ],
)
def test_draft_checks_catch_their_fault(tmp_path, pristine, engine, failing):
    from drafter.evaluation.draft_suite import run as run_draft

    _write(tmp_path, "draft", _lines("draft", ["complaint-001"]))
    case = run_draft(datasets.load("draft", directory=tmp_path), engine)["cases"][0]
    assert case["checks"][failing] is False and not case["passed"], case["failures"]


# ---------------------------------------------------------------- record and replay


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "make_cassettes", REPO / "evals" / "make_cassettes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_cassettes_replay_with_no_network(pristine, monkeypatch):
    with FakeOpenAI() as fake:
        configure(monkeypatch, fake.base_url)  # were replay to call out, it would land here
        monkeypatch.delenv("DRAFTER_LLM_MODEL")  # the model comes from the manifest
        run = runner.run(("rewrite", "draft"), "replay", datasets_dir=CASSETTES / "datasets")
        assert fake.requests == []
    stale = [
        f"{s}/{c['id']}: {c['note']}"
        for s, r in run["results"].items()
        for c in r["cases"]
        if c["status"] in ("missing", "stale")
    ]
    assert not stale, (
        "cassettes out of date: run `.venv/bin/python evals/make_cassettes.py`\n" + "\n".join(stale)
    )
    assert run["engine"] == "replay" and run["model"] == "fake-model"
    assert run["problems"] == {"missing": 0, "stale": 0, "fallback": 1, "error": 0}
    assert _case(run, "rewrite", "fact-004")["status"] == "fallback"  # the scripted fault
    assert all(c["passed"] for r in run["results"].values() for c in r["cases"])
    usage = run["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost"] > 0 and usage["currency"] == "USD"
    assert all(c["usage"]["cost"] is not None for r in run["results"].values() for c in r["cases"])


def test_replay_reports_missing_and_stale_recordings(tmp_path, pristine):
    tapes = tmp_path / "cassettes"
    shutil.copytree(CASSETTES, tapes)
    manifest = json.loads((tapes / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest["entries"]
    for f in entries["rewrite/pol-001"]["files"]:
        (tapes / f).unlink()
    entries["rewrite/pol-001"]["prompt"] = "rewrite.system@0+rewrite.user@0"  # an older prompt
    for f in entries.pop("rewrite/pol-004")["files"]:
        (tapes / f).unlink()
    (tapes / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run = runner.run(["rewrite"], "replay", datasets_dir=tapes / "datasets", cassettes=tapes)
    stale, missing = _case(run, "rewrite", "pol-001"), _case(run, "rewrite", "pol-004")
    assert (
        stale["status"] == "stale" and "rewrite.system@0" in stale["note"] and not stale["passed"]
    )
    assert missing["status"] == "missing" and not missing["passed"]
    assert run["problems"]["stale"] == 1 and run["problems"]["missing"] == 1
    text = report.text_summary(run)
    assert "rewrite/pol-001  [stale]" in text and "rewrite/pol-004  [missing]" in text


def test_replay_without_cassettes_is_refused(tmp_path, pristine):
    with pytest.raises(cassettes.ReplayError, match="没有录制"):
        runner.run(["rewrite"], "replay", cassettes=tmp_path / "none")


def test_no_network_guard_refuses_connections():
    with (
        cassettes.no_network(),
        pytest.raises(cassettes.ReplayError, match="replay tried to connect"),
    ):
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
    with contextlib.suppress(OSError):  # outside the guard connecting is allowed again
        socket.create_connection(("127.0.0.1", 9), timeout=0.5).close()


def test_record_then_replay(tmp_path, pristine, monkeypatch):
    data = tmp_path / "data"
    _write(data, "rewrite", _lines("rewrite", ["pol-001", "def-001"]))
    tapes = tmp_path / "tapes"
    script = _load_script()
    with FakeOpenAI() as fake:
        fake.default = script.fake_model({})
        configure(monkeypatch, fake.base_url)
        recorded = runner.run(["rewrite"], "llm", record=True, datasets_dir=data, cassettes=tapes)
        assert len(fake.chat_requests) == 4  # each case and its idempotence check
        fake.requests.clear()
        replayed = runner.run(["rewrite"], "replay", datasets_dir=data, cassettes=tapes)
        assert fake.requests == []
    manifest = json.loads((tapes / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["entries"]) == {
        "rewrite/pol-001",
        "rewrite/pol-001#again",
        "rewrite/def-001",
        "rewrite/def-001#again",
    }
    assert all(
        e["prompt"] == engines.prompt_version("rewrite") for e in manifest["entries"].values()
    )
    for run in (recorded, replayed):
        assert [c["status"] for c in run["results"]["rewrite"]["cases"]] == ["pass", "pass"]
        assert run["results"]["rewrite"]["cases"][0]["engine"] == "llm:fake-model"
    assert recorded["summary"] == replayed["summary"]
    # The dataset changes: the old recording no longer answers, and says why.
    rows = _lines("rewrite", ["pol-001", "def-001"])
    rows[0]["text"] += "你"
    _write(data, "rewrite", rows)
    changed = runner.run(["rewrite"], "replay", datasets_dir=data, cassettes=tapes)
    case = _case(changed, "rewrite", "pol-001")
    assert case["status"] == "stale" and "用例文本" in case["note"]


def test_live_runs_are_cached_in_drafter_home(tmp_path, pristine, monkeypatch):
    data = _write(tmp_path / "data", "rewrite", _lines("rewrite", ["pol-001"])).parent
    with FakeOpenAI() as fake:
        fake.default = _load_script().fake_model({})
        configure(monkeypatch, fake.base_url)
        first = runner.run(["rewrite"], "llm", datasets_dir=data)
        calls = len(fake.chat_requests)
        second = runner.run(["rewrite"], "llm", datasets_dir=data)
        assert calls == 2 and len(fake.chat_requests) == calls  # the second run is all cache hits
    assert first["summary"] == second["summary"] and first["usage"]["cost"] > 0
    assert list((pristine / "llm-cache").glob("*.json"))
    shutil.rmtree(pristine / "llm-cache")  # the index home is shared by the module


def test_llm_engine_needs_configuration(pristine):
    from drafter.errors import NotConfiguredError

    with pytest.raises(NotConfiguredError):
        runner.run(["rewrite"], "llm")


# ---------------------------------------------------------------- baseline and thresholds


def test_baseline_lists_regressions_and_improvements(offline_run):
    before, now = copy.deepcopy(offline_run), copy.deepcopy(offline_run)
    _case(now, "rewrite", "pol-001").update(passed=False, status="fail", failures=["expected: x"])
    _case(before, "draft", "complaint-001").update(
        passed=False, status="fail", failures=["steps: y"]
    )
    now["results"]["retrieval"]["cases"].pop()
    cmp = baseline.compare(now, before, "before.json")
    assert [(r["suite"], r["id"]) for r in cmp.regressions] == [("rewrite", "pol-001")]
    assert [(r["suite"], r["id"]) for r in cmp.improvements] == [("draft", "complaint-001")]
    assert [r["id"] for r in cmp.removed] == ["ret-040"]
    assert baseline.compare(offline_run, offline_run).regressions == []


def test_thresholds():
    run = {"summary": {"rewrite": {"pass_rate": 0.9}, "draft": {"pass_rate": 1.0}}}
    assert baseline.parse_threshold("retrieval.hit@5=0.9") == ("retrieval.hit@5", 0.9)
    checked = baseline.check_thresholds(run, [("pass_rate", 0.95)])
    assert [(t["metric"], t["met"]) for t in checked] == [
        ("draft.pass_rate", True),
        ("rewrite.pass_rate", False),
    ]
    with pytest.raises(baseline.ThresholdError, match="没有名为"):
        baseline.check_thresholds(run, [("rewrite.nope", 1)])
    for bad in ("pass_rate", "pass_rate=high", "=1"):
        with pytest.raises(baseline.ThresholdError, match="METRIC=VALUE"):
            baseline.parse_threshold(bad)


def test_percentile_and_prices(tmp_path):
    assert runner.percentile([], 50) is None
    assert runner.percentile([1, 2, 3, 4], 50) == 2.5
    assert runner.percentile([5.0], 95) == 5.0
    table = prices.load_prices()
    assert table.cost("fake-model", 1_000_000, 500_000) == 2.0
    assert table.of("gpt-4o-mini-2024-07-18") == table.of("gpt-4o-mini")
    assert table.cost("unknown-model", 10, 10) is None
    bad = tmp_path / "prices.yaml"
    bad.write_text("models:\n  m: {prompt: cheap}\n", encoding="utf-8")
    with pytest.raises(prices.PricesError, match=str(bad)):
        prices.load_prices(bad)


# ---------------------------------------------------------------- reports


def _tags(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every start tag of the page with its attributes (what a browser would load or run)."""
    from html.parser import HTMLParser

    found: list = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, [(k, v or "") for k, v in attrs]))

    Collect().feed(page)
    return found


def test_html_report_is_self_contained_and_escaped(tmp_path):
    hostile = '<script>alert("x")</script><img src=https://evil.example/x.png>'
    row = {**_lines("rewrite", ["pol-001"])[0], "id": "xss-<b>", "text": hostile + "你好"}
    row["expected"] = None
    _write(tmp_path, "rewrite", [row])
    run = runner.run(["rewrite"], datasets_dir=tmp_path)
    page = report.html_report(run)
    tags = _tags(page)
    assert not {"script", "img", "link", "iframe", "object", "embed"} & {t for t, _ in tags}
    assert all(
        not v.startswith(("http", "//"))
        for _, attrs in tags
        for k, v in attrs
        if k in ("src", "href")
    )
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "xss-&lt;b&gt;" in page
    assert "@import" not in page and "url(" not in page
    assert '<input type="checkbox" id="only-failed"' in page  # the failure filter


def test_text_summary_lists_failures_by_id(tmp_path):
    row = {**_lines("rewrite", ["pol-001"])[0], "expected": "nothing like it"}
    _write(tmp_path, "rewrite", [row, _lines("rewrite", ["pol-002"])[0]])
    run = runner.run(["rewrite"], datasets_dir=tmp_path)
    text = report.text_summary(run)
    assert "rewrite/pol-001  [fail]  expected:" in text and "pol-002" not in text.split("失败")[1]
    assert "polite-pronoun" in text  # the per-rule table


# ---------------------------------------------------------------- feedback


def test_feedback_rows_become_rewrite_cases(tmp_path):
    case, hedged = _lines("rewrite", ["pro-008", "def-001"])  # pro-008: a rewrite and a flag
    rows = [
        {
            "draft": case["text"],
            "rule": "polite-pronoun",
            "decision": "accept",
            "final_text": case["expected"],
        },
        {
            "draft": case["text"],
            "rule": "provocative",
            "decision": "accepted",
            "final_text": case["expected"],
        },
        {
            "draft": hedged["text"],
            "rule": "definite",
            "decision": "reject",
            "final_text": hedged["text"],
        },
        {"draft": hedged["text"], "rule": "tone", "decision": "accept", "final_text": ""},
    ]
    cases = feedback_cases.cases_from_feedback(rows)
    assert cases[0]["expected_rules"] == ["polite-pronoun"] and cases[0]["expected_flags"] == [
        "provocative"
    ]
    assert cases[0]["expected"] == case["expected"] and cases[0]["id"].startswith("feedback-")
    assert cases[1]["expected_rules"] == [] and "rejected:definite" in cases[1]["tags"]
    assert cases[1]["expected"] == hedged["text"]  # the latest kept text wins
    assert "unknown-rule:tone" in cases[1]["tags"]
    path = tmp_path / "rewrite-feedback.jsonl"
    assert feedback_cases.append_cases(cases, path) == (2, 0)
    assert feedback_cases.append_cases(cases, path) == (0, 2)  # exporting twice adds nothing
    loaded = datasets.load("rewrite", directory=tmp_path)
    assert [c.id for c in loaded.cases] == [c["id"] for c in cases]
    run = runner.run(["rewrite"], datasets_dir=tmp_path)
    assert _case(run, "rewrite", cases[0]["id"])["passed"]
    # A change the agent rejected and the engine still makes counts against it.
    assert _case(run, "rewrite", cases[1]["id"])["checks"]["rules"] is False


def test_feedback_rows_are_validated():
    with pytest.raises(DatasetError, match="decision"):
        feedback_cases.cases_from_feedback(
            [{"draft": "x", "rule": "definite", "decision": "maybe"}]
        )
    with pytest.raises(DatasetError, match="缺少 rule"):
        feedback_cases.cases_from_feedback([{"draft": "x", "decision": "accept"}])
    exported = {"draft": "x", "final": "y", "decisions": [{"rule": "definite", "accepted": False}]}
    assert feedback_cases.cases_from_feedback([exported])[0]["expected"] == "y"
    untouched = {"draft": "z", "final": "z", "decisions": []}  # nothing proposed, text kept
    case = feedback_cases.cases_from_feedback([untouched])[0]
    assert case["expected"] == "z" and case["expected_rules"] == [] and case["tags"] == ["feedback"]


def test_readme_documents_every_field_and_figure(offline_run):
    readme = (DATASETS / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The evaluation harness") :]
    fields = {spec.name for specs in datasets.SCHEMAS.values() for spec in specs}
    figures = {name for summary in offline_run["summary"].values() for name in summary}
    missing = sorted(n for n in fields | figures if f"`{n}`" not in section)
    assert not missing, f"evals/datasets/README.md does not document {missing}"
