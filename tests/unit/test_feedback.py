"""The feedback store: decisions and final texts kept, safe under concurrent writers, exported as eval cases."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import postgres_fixture

from drafter import feedback
from drafter.cli.main import main
from drafter.errors import FeedbackStoreError, InputError
from drafter.evaluation import datasets
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.types import apply_changes

DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_fixture() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, monkeypatch) -> str:
    """The same test against both back ends: the SQLite file and a real PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS decisions, feedback")
        feedback._PG_READY.clear()
        monkeypatch.setenv("DRAFTER_FEEDBACK_URL", url)
    return request.param


@pytest.fixture
def result():
    r = rewrite(DRAFT)
    assert len(r.changes) >= 3
    return r


def test_record_keeps_the_draft_each_decision_and_the_final_text(store, result):
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


def test_final_text_is_apply_changes_of_the_accepted_ones(store, result):
    for mask in (
        [True] * len(result.changes),
        [False] * len(result.changes),
        [i % 2 == 0 for i in range(len(result.changes))],
    ):
        feedback.record(DRAFT, result.rewritten, "offline", result.changes, mask)
        expected = apply_changes(DRAFT, [c for c, a in zip(result.changes, mask) if a])
        assert feedback.rows()[-1].final == expected
    assert feedback.rows()[1].final == DRAFT  # all rejected: the draft as written


def test_recording_the_same_rewrite_again_replaces_it(store, result):
    n = len(result.changes)
    fid = feedback.record(DRAFT, result.rewritten, "offline", result.changes, [True] * n)
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [False] * n, feedback_id=fid
    )
    (row,) = feedback.rows()
    assert row.final == DRAFT and not any(d.accepted for d in row.decisions)
    assert feedback.count() == 1


def test_acceptance_rate_per_rule(store, result):
    n = len(result.changes)
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, [True] * n)
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, [False] * n)
    rates = {r.rule: r for r in feedback.acceptance()}
    for c in result.changes:
        assert rates[c.rule].rate == 0.5
    polite = sum(c.rule == "polite-pronoun" for c in result.changes)
    assert (rates["polite-pronoun"].accepted, rates["polite-pronoun"].rejected) == (polite, polite)


def test_decisions_must_match_the_changes(store, result):
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


def test_concurrent_threads_and_processes_do_not_corrupt_the_store(store, drafter_home, result):
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
    if store == "sqlite":
        with sqlite3.connect(feedback.db_path()) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_export_writes_valid_rewrite_cases(store, tmp_path, result, capsys):
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


def test_stats_command_lists_rates(store, result, capsys):
    feedback.record(
        DRAFT, result.rewritten, "offline", result.changes, [True] * len(result.changes)
    )
    assert main(["feedback", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert {s["rule"] for s in stats} == {c.rule for c in result.changes}
    assert all(s["rate"] == 1.0 for s in stats)


def test_empty_store_reads_fine(store):
    assert feedback.rows() == [] and feedback.acceptance() == [] and feedback.count() == 0


# ---------------------------------------------------------------- faults: never lost, one sentence


def _all(result):
    return [True] * len(result.changes)


def test_a_lock_held_longer_than_the_wait_keeps_the_record_aside_then_writes_it(
    result, monkeypatch
):
    monkeypatch.setenv("DRAFTER_FEEDBACK_WAIT", "0.5")
    monkeypatch.setattr(feedback, "BUSY_TIMEOUT_S", 0.1)
    feedback.count()  # the file and its tables exist
    holder = sqlite3.connect(feedback.db_path(), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the lock
    try:
        fid = feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
        assert feedback.pending() == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert feedback.count() == 1 and feedback.rows()[0].id == fid  # written on the next call
    assert feedback.pending() == 0


def test_a_lock_released_within_the_wait_is_retried_not_lost(result, monkeypatch):
    monkeypatch.setattr(feedback, "BUSY_TIMEOUT_S", 0.05)
    feedback.count()
    holder = sqlite3.connect(feedback.db_path(), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.6, lambda: (holder.execute("ROLLBACK"), holder.close()))
    release.start()
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    release.join()
    assert feedback.count() == 1 and feedback.pending() == 0


def test_a_read_only_database_is_one_sentence(result, tmp_path, monkeypatch):
    """A database the process may not write (opened read-only: file modes do not stop root,
    who runs CI) gives one sentence, not 内部错误（OperationalError）."""
    target = tmp_path / "fb.db"
    monkeypatch.setenv("DRAFTER_FEEDBACK_DB", str(target))
    feedback.count()
    real = sqlite3.connect

    def read_only(path, *args, **kwargs):
        return real(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(feedback.sqlite3, "connect", read_only)
    with pytest.raises(FeedbackStoreError, match="只读"):
        feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))


@pytest.mark.parametrize("kind", ["folder", "not a database", "missing folder", "device"])
def test_a_bad_database_path_is_one_sentence_in_the_cli(kind, tmp_path, monkeypatch, capsys):
    target = tmp_path / "fb.db"
    if kind == "folder":
        target.mkdir()
    elif kind == "device":
        target = Path("/dev/null")
    elif kind == "not a database":
        target.write_bytes(b"this is no sqlite file" * 100)
    else:
        target = tmp_path / "file" / "fb.db"
        (tmp_path / "file").write_text("x")  # its folder is a file: cannot be created
    monkeypatch.setenv("DRAFTER_FEEDBACK_DB", str(target))
    assert main(["feedback", "stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("drafter: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "OperationalError" not in err


def test_an_unreachable_postgres_keeps_records_aside(result, monkeypatch):
    from serving import free_port

    monkeypatch.setenv("DRAFTER_FEEDBACK_URL", f"postgresql://u@127.0.0.1:{free_port()}/x")
    monkeypatch.setenv("DRAFTER_FEEDBACK_WAIT", "0.3")
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    assert feedback.pending() == 1
    with pytest.raises(FeedbackStoreError, match="连不上"):
        feedback.count()
    assert feedback.pending() == 1  # still kept


def test_records_kept_aside_reach_postgres_when_it_is_back(result, monkeypatch, postgres_url):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS decisions, feedback")
    feedback._PG_READY.clear()
    from serving import free_port

    monkeypatch.setenv("DRAFTER_FEEDBACK_URL", f"postgresql://u@127.0.0.1:{free_port()}/x")
    monkeypatch.setenv("DRAFTER_FEEDBACK_WAIT", "0.2")
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    monkeypatch.setenv("DRAFTER_FEEDBACK_URL", postgres_url)  # the server is back
    assert feedback.count() == 1 and feedback.pending() == 0


def test_a_wrong_postgres_database_is_one_sentence(monkeypatch, postgres_url, capsys):
    monkeypatch.setenv("DRAFTER_FEEDBACK_URL", postgres_url.rsplit("/", 1)[0] + "/nosuchdb")
    assert main(["feedback", "stats"]) == 2
    err = capsys.readouterr().err
    assert "nosuchdb" in err and len(err.strip().splitlines()) == 1


def test_retention_purges_old_records(store, result, monkeypatch):
    old = feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    new = feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    feedback._attempt(
        lambda cur: cur.execute(
            "UPDATE feedback SET updated_at = ? WHERE id = ?", (1_000_000.0, old)
        )
    )
    assert feedback.purge(days=0) == 0  # 0: kept for ever
    assert feedback.purge(days=30) == 1
    assert [r.id for r in feedback.rows()] == [new]
    assert sum(r.total for r in feedback.acceptance()) == len(result.changes)


def test_retention_setting_is_checked(monkeypatch):
    from drafter.errors import SettingsError
    from drafter.settings import Settings

    monkeypatch.setenv("DRAFTER_FEEDBACK_RETENTION_DAYS", "-1")
    with pytest.raises(SettingsError, match="DRAFTER_FEEDBACK_RETENTION_DAYS"):
        Settings.from_env()


# ---------------------------------------------------------------- export: personal data


PERSONAL = "李华女士您好，您的电话13812345678、邮箱lihua88@qq.com、身份证110101199003071234都已登记，你的订单可能明天到。"


def test_export_masks_personal_data_by_default(tmp_path, capsys):
    r = rewrite(PERSONAL)
    feedback.record(PERSONAL, r.rewritten, "offline", r.changes, [True] * len(r.changes))
    out = tmp_path / "cases.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for secret in ("13812345678", "lihua88", "110101199003071234", "李华"):
        assert secret not in text
    (case,) = datasets.load_kind("rewrite", [out]).cases
    assert len(case["text"]) == len(PERSONAL) and "138****5678" in case["text"]
    # The masked case is still a case the engine can be judged on: the same changes apply.
    assert rewrite(case["text"]).rewritten == case["expected"]


def test_export_keeps_personal_data_only_when_asked_and_warns(tmp_path, capsys):
    r = rewrite(PERSONAL)
    feedback.record(PERSONAL, r.rewritten, "offline", r.changes, [True] * len(r.changes))
    out = tmp_path / "cases.jsonl"
    assert main(["feedback", "export", "--keep-personal-data", "--out", str(out)]) == 0
    assert "13812345678" in out.read_text(encoding="utf-8")
    assert "未遮盖" in capsys.readouterr().err


def test_export_refuses_a_folder_git_tracks(tmp_path, capsys):
    import subprocess

    r = rewrite(PERSONAL)
    feedback.record(PERSONAL, r.rewritten, "offline", r.changes, [True] * len(r.changes))
    repo = tmp_path / "repo"
    (repo / "evals" / "datasets").mkdir(parents=True)
    (repo / "evals" / "datasets" / "rewrite.jsonl").write_text("", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    out = repo / "evals" / "datasets" / "rewrite-feedback.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 2
    assert "git" in capsys.readouterr().err and not out.exists()
    assert main(["feedback", "export", "--out", str(out), "--into-repository"]) == 0
    assert out.exists()


@pytest.mark.parametrize("where", ["folder", "missing"])
def test_export_to_a_bad_path_is_one_sentence(where, tmp_path, capsys):
    out = tmp_path if where == "folder" else tmp_path / "no" / "such" / "f.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_export_to_dash_is_standard_output(result, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    feedback.record(DRAFT, result.rewritten, "offline", result.changes, _all(result))
    assert main(["feedback", "export", "--out", "-"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["text"] == DRAFT
    assert not (tmp_path / "-").exists()
