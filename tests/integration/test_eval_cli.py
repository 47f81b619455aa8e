"""`drafter eval`: output modes, exit codes (0 fine, 1 regression or unmet threshold, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_eval import _home

from drafter.cli.main import main
from drafter.evaluation.suites import SUITES

DATASETS = REPO / "evals" / "datasets"
CASSETTES = REPO / "evals" / "cassettes"


@pytest.fixture(scope="module")
def own_index_home(tmp_path_factory) -> Path:
    """An index of the real corpus no other module writes to (replays need its exact passages)."""
    home = tmp_path_factory.mktemp("eval-cli-index-home")
    with _home(home):
        from drafter.retrieval.index import build_index

        build_index()
    return home


@pytest.fixture
def pristine(own_index_home, monkeypatch) -> Path:
    monkeypatch.setenv("DRAFTER_HOME", str(own_index_home))
    return own_index_home


def _rows(kind: str, ids: list[str]) -> list[dict]:
    rows = {
        json.loads(x)["id"]: json.loads(x)
        for x in (DATASETS / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
        if x.strip()
    }
    return [rows[i] for i in ids]


def _dataset(directory: Path, rows: list[dict], kind: str = "rewrite") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{kind}.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return directory


def _eval(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["eval", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(tmp_path) -> Path:
    return _dataset(
        tmp_path / "data", _rows("rewrite", ["pol-001", "def-001", "why-005", "ok-001"])
    )


def test_summary_table(capsys, small):
    code, out, _ = _eval(capsys, "--suite", "rewrite", "--datasets", str(small))
    assert code == 0
    assert "rewrite" in out and "100.0%" in out and "polite-pronoun" in out and "全部通过" in out


def test_json_is_the_whole_run(capsys, small):
    code, out, _ = _eval(capsys, "--suite", "rewrite", "--datasets", str(small), "--json")
    run = json.loads(out)
    assert code == 0 and run["format"] == "drafter-eval/1" and run["engine"] == "offline"
    assert [c["id"] for c in run["results"]["rewrite"]["cases"]] == [
        "pol-001",
        "def-001",
        "why-005",
        "ok-001",
    ]
    assert set(run["timing"]["suites"]["rewrite"]["cases"]) == {
        "pol-001",
        "def-001",
        "why-005",
        "ok-001",
    }
    code, again, _ = _eval(capsys, "--suite", "rewrite", "--datasets", str(small), "--json")
    first, second = json.loads(out), json.loads(again)
    first.pop("timing"), second.pop("timing")
    assert first == second


def test_fail_under(capsys, small):
    args = ["--suite", "rewrite", "--datasets", str(small)]
    assert _eval(capsys, *args, "--fail-under", "rewrite.pass_rate=1.0")[0] == 0
    code, out, _ = _eval(
        capsys, *args, "--fail-under", "rewrite.pass_rate=1.01", "--fail-under", "idempotent=0.5"
    )
    assert code == 1 and "rewrite.pass_rate ≥ 1.01" in out and "未达标" in out
    code, out, err = _eval(capsys, *args, "--json", "--fail-under", "rewrite.pass_rate=1.01")
    assert code == 1 and json.loads(out)["thresholds"][0]["met"] is False and "1.01" in err
    code, _, err = _eval(capsys, *args, "--fail-under", "rewrite.bogus=1")
    assert code == 2 and "bogus" in err
    code, _, err = _eval(capsys, *args, "--fail-under", "rewrite.pass_rate")
    assert code == 2 and "METRIC=VALUE" in err


def test_baseline_regression_and_improvement(capsys, small, tmp_path):
    before = tmp_path / "before.json"
    assert (
        _eval(capsys, "--suite", "rewrite", "--datasets", str(small), "--out", str(before))[0] == 0
    )
    worse = _rows("rewrite", ["pol-001", "def-001", "why-005", "ok-001"])
    worse[1]["expected"] = worse[1]["text"]  # def-001 now "expects" the hedge kept: it fails
    worse_dir = _dataset(tmp_path / "worse", worse)
    code, out, _ = _eval(
        capsys, "--suite", "rewrite", "--datasets", str(worse_dir), "--baseline", str(before)
    )
    assert code == 1 and "回退 rewrite/def-001" in out
    after = tmp_path / "after.json"
    _eval(capsys, "--suite", "rewrite", "--datasets", str(worse_dir), "--out", str(after))
    code, out, _ = _eval(
        capsys, "--suite", "rewrite", "--datasets", str(small), "--baseline", str(after), "--json"
    )
    comparison = json.loads(out)["comparison"]
    assert code == 0 and [r["id"] for r in comparison["improvements"]] == ["def-001"]
    assert comparison["regressions"] == []


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "找不到基线文件"),
        ("{not json", "不是合法的 JSON"),
        ('{"format": "something else"}', "不是 drafter eval --json 的输出"),
    ],
)
def test_bad_baseline_exits_2(capsys, small, tmp_path, content, message):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = _eval(
        capsys, "--suite", "rewrite", "--datasets", str(small), "--baseline", str(path)
    )
    assert code == 2 and message in err and str(path) in err and out == ""


def test_bad_datasets_exit_2_naming_file_and_line(capsys, tmp_path, small):
    code, _, err = _eval(capsys, "--suite", "rewrite", "--datasets", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere" in err
    broken = small / "rewrite.jsonl"
    broken.write_text(broken.read_text(encoding="utf-8") + '{"id": "x"\n', encoding="utf-8")
    code, out, err = _eval(capsys, "--suite", "rewrite", "--datasets", str(small))
    assert code == 2 and f"{broken}:5" in err and out == ""
    assert err.count("\n") == 1  # one sentence, no traceback


def test_bad_engine_use_exits_2(capsys, small):
    code, _, err = _eval(capsys, "--suite", "rewrite", "--datasets", str(small), "--record")
    assert code == 2 and "--record" in err
    code, _, err = _eval(capsys, "--suite", "rewrite", "--datasets", str(small), "--engine", "llm")
    assert code == 2 and "DRAFTER_LLM_MODEL" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", "--engine", "magic"])
    assert exit_info.value.code == 2


def test_unwritable_output_exits_2(capsys, small, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    for flag in ("--report", "--out"):
        code, _, err = _eval(
            capsys, "--suite", "rewrite", "--datasets", str(small), flag, str(blocker / "x")
        )
        assert code == 2 and "无法写入" in err


def test_replay_and_report(capsys, pristine, tmp_path):
    page = tmp_path / "out" / "report.html"
    code, out, _ = _eval(
        capsys,
        "--engine",
        "replay",
        "--datasets",
        str(CASSETTES / "datasets"),
        "--report",
        str(page),
        "--fail-under",
        "rewrite.pass_rate=1.0",
    )
    assert code == 0, out
    assert "引擎 replay (fake-model)" in out and "估算费用" in out and "fallback 1" in out
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "fact-004" in html and "只看失败" in html


def test_all_suites_through_the_installed_command(pristine, tmp_path):
    """The real entry point, as CI runs it: figures on stdout, the exit code as documented."""
    exe = Path(sys.executable).with_name("drafter")
    run = subprocess.run(
        [str(exe), "eval", "--json", "--fail-under", "retrieval.hit@5=0.66"],
        check=False,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["suites"] == list(SUITES)  # dev and held-out
    assert sum(s["cases"] for s in data["summary"].values()) >= 150
