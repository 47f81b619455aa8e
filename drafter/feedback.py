"""The feedback store: which changes agents accepted or rejected, and the text they kept.

SQLite under DRAFTER_HOME (or DRAFTER_FEEDBACK_DB). Safe for concurrent users and processes:
WAL journal, one short-lived connection per call, a busy timeout, and each record written in
one transaction. A record is keyed by the id of the rewrite it judges, so recording the same
rewrite again (the agent changes their mind and copies again) replaces it instead of adding one.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from drafter.errors import InputError
from drafter.state import current
from drafter.types import Change, apply_changes

BUSY_TIMEOUT_S = 10.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    engine      TEXT NOT NULL,
    draft       TEXT NOT NULL,
    rewritten   TEXT NOT NULL,
    final       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    feedback_id TEXT NOT NULL REFERENCES feedback(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    before      TEXT NOT NULL,
    after       TEXT NOT NULL,
    accepted    INTEGER NOT NULL CHECK (accepted IN (0, 1)),
    PRIMARY KEY (feedback_id, position)
);
CREATE INDEX IF NOT EXISTS decisions_rule ON decisions(rule);
"""


@dataclass(frozen=True)
class Decision:
    """One change of a rewrite and whether the agent kept it."""

    rule: str
    start: int
    end: int
    before: str
    after: str
    accepted: bool

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "start": self.start,
            "end": self.end,
            "before": self.before,
            "after": self.after,
            "accepted": self.accepted,
        }


@dataclass(frozen=True)
class FeedbackRow:
    """A judged rewrite: the draft, what the engine proposed, what the agent kept."""

    id: str
    created_at: float
    updated_at: float
    engine: str
    draft: str
    rewritten: str
    final: str
    decisions: list[Decision] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "engine": self.engine,
            "draft": self.draft,
            "rewritten": self.rewritten,
            "final": self.final,
            "decisions": [d.to_dict() for d in self.decisions],
        }


@dataclass(frozen=True)
class RuleRate:
    rule: str
    accepted: int
    rejected: int

    @property
    def total(self) -> int:
        return self.accepted + self.rejected

    @property
    def rate(self) -> float:
        return self.accepted / self.total if self.total else 0.0


def db_path() -> Path:
    """DRAFTER_FEEDBACK_DB, else DRAFTER_HOME/feedback.db."""
    state = current()
    if state.settings.feedback_db is None:
        return state.state_dir() / "feedback.db"
    path = state.settings.feedback_db
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """One connection per call; committed on success, rolled back on error, always closed."""
    conn = sqlite3.connect(str(path or db_path()), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def new_id() -> str:
    return uuid.uuid4().hex


def decisions_for(changes: Sequence[Change], accepted: Sequence[bool]) -> list[Decision]:
    if len(changes) != len(accepted):
        raise InputError("采纳标记的数目与改动数目不一致（decisions do not match the changes）。")
    return [
        Decision(c.rule, c.start, c.end, c.before, c.after, bool(a))
        for c, a in zip(changes, accepted)
    ]


def record(
    draft: str,
    rewritten: str,
    engine: str,
    changes: Sequence[Change],
    accepted: Sequence[bool],
    *,
    feedback_id: str | None = None,
    path: Path | None = None,
) -> str:
    """Store the agent's decisions on one rewrite and the final text they give; returns its id.

    The final text is the draft with the accepted changes applied. Recording again with the
    same ``feedback_id`` replaces the earlier decisions (the first ``created_at`` is kept).
    """
    decisions = decisions_for(changes, accepted)
    final = apply_changes(draft, [c for c, a in zip(changes, accepted) if a])
    fid = feedback_id or new_id()
    now = time.time()
    with _connect(path) as conn:
        conn.execute(
            "INSERT INTO feedback (id, created_at, updated_at, engine, draft, rewritten, final)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
            " engine = excluded.engine, draft = excluded.draft,"
            " rewritten = excluded.rewritten, final = excluded.final",
            (fid, now, now, engine, draft, rewritten, final),
        )
        conn.execute("DELETE FROM decisions WHERE feedback_id = ?", (fid,))
        conn.executemany(
            'INSERT INTO decisions (feedback_id, position, rule, start, "end", before, after,'
            " accepted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (fid, i, d.rule, d.start, d.end, d.before, d.after, int(d.accepted))
                for i, d in enumerate(decisions)
            ],
        )
    return fid


def acceptance(path: Path | None = None) -> list[RuleRate]:
    """Accepted and rejected counts per rule, most judged rules first."""
    with _connect(path) as conn:
        rows = conn.execute(
            "SELECT rule, SUM(accepted), SUM(1 - accepted) FROM decisions GROUP BY rule"
        ).fetchall()
    rates = [RuleRate(rule, int(a), int(r)) for rule, a, r in rows]
    return sorted(rates, key=lambda r: (-r.total, r.rule))


def rows(path: Path | None = None, limit: int | None = None) -> list[FeedbackRow]:
    """Every stored record with its decisions, oldest first (the newest ``limit`` if given)."""
    with _connect(path) as conn:
        query = "SELECT id, created_at, updated_at, engine, draft, rewritten, final FROM feedback"
        if limit is not None:
            query = f"SELECT * FROM ({query} ORDER BY created_at DESC, id LIMIT {int(limit)})"
        heads = conn.execute(query + " ORDER BY created_at, id").fetchall()
        found: dict[str, list[Decision]] = {h[0]: [] for h in heads}
        for fid, rule, start, end, before, after, accepted in conn.execute(
            'SELECT feedback_id, rule, start, "end", before, after, accepted FROM decisions'
            " ORDER BY feedback_id, position"
        ):
            if fid in found:
                found[fid].append(Decision(rule, start, end, before, after, bool(accepted)))
    return [
        FeedbackRow(fid, created, updated, engine, draft, rewritten, final, decisions=found[fid])
        for fid, created, updated, engine, draft, rewritten, final in heads
    ]


def count(path: Path | None = None) -> int:
    with _connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
