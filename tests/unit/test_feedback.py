"""The feedback store: decisions and final texts kept, safe under concurrent writers, exported as eval cases."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading

import pytest

from drafter import feedback
from drafter.cli.main import main
from drafter.errors import InputError
from drafter.evaluation import datasets
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.types import apply_changes

DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？"


@pytest.fixture
def result():
    r = rewrite(DRAFT)
    assert len(r.changes) >= 3
    return r


def test_record_keeps_the_draft_each_decision_and_the_final_text(result):
    accepted = [True] * len(result.changes)
    accepted[1] = False
    fid = feedback.record(
        result.original, result.rewritten, result.engine, result.changes, accepted
    )
    (row,) = feedback.rows()
    assert row.id == fid and row.draft == DRAFT and row.rewritten == result.rewritten
    assert row.engine == "offline"
    rejected = result.changes[1]
    # Only the accepted changes are applied: the rejected span keeps the agent's words.
    assert row.final == apply_changes(DRAFT, [c for c in result.changes if c is not rejected])
    assert row.final != result.rewritten
    assert [d.accepted for d in row.decisions] == accepted
    assert [(d.rule, d.start, d.end, d.before, d.after) for d in row.decisions] == [
        (c.rule, c.start, c.end, c.before, c.after) for c in result.changes
    ]


def test_final_text_is_apply_changes_of_the_accepted_ones(result):
    for mask in (
        [True] * len(result.changes),
        [False] * len(result.changes),
        [i % 2 == 0 for i in range(len(result.changes))],
    ):
        feedback.record(DRAFT, result.rewritten, "offline", result.changes, mask)
        expected = apply_changes(DRAFT, [c for c, a in zip(result.changes, mask) if a])
        assert feedback.rows()[-1].final == expected
    assert feedback.rows()[1].final == DRAFT  # all rejected: the draft as written


def test_recording_the_same_rewrite_again_replaces_it(result):
    n = len(result.changes)
    fid = feedback.record(DRAFT, result.rewritten, "offline", result.changes, [True] * n)
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [False] * n, feedback_id=fid
    )
    (row,) = feedback.rows()
    assert row.final == DRAFT and not any(d.accepted for d in row.decisions)
    assert feedback.count() == 1


def test_acceptance_rate_per_rule(result):
    n = len(result.changes)
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, [True] * n)
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, [False] * n)
    rates = {r.rule: r for r in feedback.acceptance()}
    for c in result.changes:
        assert rates[c.rule].rate == 0.5
    polite = sum(c.rule == "polite-pronoun" for c in result.changes)
    assert (rates["polite-pronoun"].accepted, rates["polite-pronoun"].rejected) == (polite, polite)


def test_decisions_must_match_the_changes(result):
    with pytest.raises(InputError):
        feedback.record(DRAFT, result.rewritten, "offline", result.changes, [True])
    assert feedback.count() == 0


def test_store_lives_under_drafter_home_and_survives_a_restart(result, drafter_home):
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [True] * len(result.changes)
    )
    path = drafter_home / "feedback.db"
    assert feedback.db_path() == path and path.is_file()
    # A fresh process opening the file sees everything (nothing held in memory).
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_feedback_db_setting_moves_the_store(tmp_path, monkeypatch, result):
    target = tmp_path / "elsewhere" / "fb.sqlite"
    monkeypatch.setenv("DRAFTER_FEEDBACK_DB", str(target))
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [True] * len(result.changes)
    )
    assert target.is_file() and feedback.count() == 1


def _write_many(args: tuple[str, int]) -> int:
    """In a child process: record ``n`` rewrites (each call opens its own connection)."""
    import os

    home, n = args
    os.environ["DRAFTER_HOME"] = home
    r = rewrite(DRAFT)
    for i in range(n):
        feedback.record(
            DRAFT,
            r.rewritten,
            "offline",
            r.changes,
            [(i + j) % 2 == 0 for j in range(len(r.changes))],
        )
    return n


def test_concurrent_threads_and_processes_do_not_corrupt_the_store(drafter_home, result):
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(25):
                feedback.record(
                    DRAFT, result.rewritten, "offline", result.changes, [True] * len(result.changes)
                )
                feedback.acceptance()  # readers interleaved with the writers
        except BaseException as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        pending = pool.map_async(_write_many, [(str(drafter_home), 25)] * 3)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        written = sum(pending.get(timeout=120))
    assert not errors
    assert feedback.count() == 8 * 25 + written
    rows = feedback.rows()
    assert all(len(r.decisions) == len(result.changes) for r in rows)
    with sqlite3.connect(feedback.db_path()) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_export_writes_valid_rewrite_cases(tmp_path, result, capsys):
    n = len(result.changes)
    mask = [True] * n
    mask[0] = False
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, mask)
    out = tmp_path / "rewrite-feedback.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    dataset = datasets.load_kind("rewrite", [out])
    (case,) = dataset.cases
    assert case["text"] == DRAFT
    assert case["expected"] == feedback.rows()[0].final
    assert "feedback" in case.tags
    # Exporting again adds nothing: cases are keyed by the draft.
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    # Without --out the cases go to standard output, one JSON object a line.
    capsys.readouterr()
    assert main(["feedback", "export"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["text"] for line in lines] == [DRAFT]


def test_stats_command_lists_rates(result, capsys):
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [True] * len(result.changes)
    )
    assert main(["feedback", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {s["rule"] for s in stats} == {c.rule for c in result.changes}
    assert all(s["rate"] == 1.0 for s in stats)


def test_empty_store_reads_fine():
    assert feedback.rows() == [] and feedback.acceptance() == [] and feedback.count() == 0
