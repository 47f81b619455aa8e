"""Retrieval quality on the real corpus, and the `drafter search` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drafter.errors import InputError
from drafter.evaluation.retrieval import evaluate, load_cases
from drafter.retrieval import hybrid as retrieval

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO / "evals" / "datasets" / "retrieval.jsonl"


def test_hit_at_5_and_mrr_on_the_agents_questions(indexed):
    cases = load_cases(DATASET)
    assert len(cases) >= 30
    result = evaluate(cases, k=5)
    summary = result["summary"]
    misses = [(c["id"], c["query"]) for c in result["cases"] if not c["hit@5"]]
    print(
        f"\nretrieval: n={summary['n']} hit@5={summary['hit@5']:.3f} MRR={summary['mrr']:.3f} "
        f"nDCG@5={summary['ndcg@5']:.3f}; misses: {misses}"
    )
    assert summary["hit@5"] >= 0.9, misses
    assert summary["mrr"] >= 0.6


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_refused(query, indexed):
    with pytest.raises(InputError, match="空"):
        retrieval.search(query)


def run_cli(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DRAFTER_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def test_search_json_contract(indexed):
    out = run_cli("search", "遇到客户提出建议时怎么回复", "-k", "3", "--json", home=indexed)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 3
    assert all(set(h) == {"passage_id", "source", "text", "score"} for h in hits)
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert any("宝贵建议" in h["text"] for h in hits)


def test_search_human_output_shows_source_id_score_and_text(indexed):
    out = run_cli("search", "请你等一下", "-k", "2", home=indexed)
    assert out.returncode == 0, out.stderr
    assert "《" in out.stdout and "score=" in out.stdout and "#" in out.stdout
    assert "请你等一下" in out.stdout


@pytest.mark.parametrize("args", [["search", "  "], ["search", "道歉", "-k", "0"]])
def test_bad_search_input_is_one_line_and_exit_2(args, indexed):
    out = run_cli(*args, home=indexed)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_corrupt_index_via_cli_says_how_to_fix(tmp_path):
    home = tmp_path / "h"
    (home / "index").mkdir(parents=True)
    (home / "index" / "manifest.json").write_text("not json", encoding="utf-8")
    out = run_cli("search", "道歉", home=home)
    assert out.returncode == 2
    assert "`drafter index`" in out.stderr and "Traceback" not in out.stderr
    fixed = run_cli("index", home=home)  # what the message says repairs it
    assert fixed.returncode == 0, fixed.stderr
    assert run_cli("search", "道歉", home=home).returncode == 0
