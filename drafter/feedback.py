"""The feedback store: which changes agents accepted or rejected, and the text they kept.

Two back ends with one schema and the same behaviour:

- SQLite under DRAFTER_HOME (or DRAFTER_FEEDBACK_DB), the default: WAL journal, one
  short-lived connection per call, a busy timeout, each record written in one transaction;
- PostgreSQL when DRAFTER_FEEDBACK_URL is set, so that app replicas behind a load balancer
  share the decisions and the statistics.

A record is keyed by the id of the rewrite it judges, so recording the same rewrite again (the
agent changes their mind and copies again) replaces it instead of adding one.

A record is never lost to a busy store: a locked database or an unreachable server is retried
with back-off for DRAFTER_FEEDBACK_WAIT seconds, then the record is kept aside in
DRAFTER_HOME/feedback-pending.jsonl and written by the next call that reaches the store. A store
that cannot work (read-only, not a database, a bad address) is one sentence. Records older
than DRAFTER_FEEDBACK_RETENTION_DAYS are purged: they hold customers' text.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drafter.errors import FeedbackStoreError, InputError
from drafter.state import current
from drafter.types import Change, apply_changes

BUSY_TIMEOUT_S = 5.0  # SQLite's own wait for a lock, per attempt
SCHEMA_VERSION = 1
PENDING = "feedback-pending.jsonl"
PURGE_EVERY_S = 3600.0  # the retention purge runs at most this often per process

_TABLES = [
    """CREATE TABLE IF NOT EXISTS feedback (
    id          TEXT PRIMARY KEY,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    engine      TEXT NOT NULL,
    draft       TEXT NOT NULL,
    rewritten   TEXT NOT NULL,
    final       TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS decisions (
    feedback_id TEXT NOT NULL REFERENCES feedback(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    start       INTEGER NOT NULL,
    "end"       INTEGER NOT NULL,
    before      TEXT NOT NULL,
    after       TEXT NOT NULL,
    accepted    INTEGER NOT NULL CHECK (accepted IN (0, 1)),
    PRIMARY KEY (feedback_id, position)
)""",
    "CREATE INDEX IF NOT EXISTS decisions_rule ON decisions(rule)",
    "CREATE INDEX IF NOT EXISTS feedback_updated ON feedback(updated_at)",
]


class Transient(Exception):
    """The store is busy or out of reach for now: worth trying again."""


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

    def redacted(self) -> FeedbackRow:
        """The record with phone and ID numbers, e-mail addresses and names masked
        (knowledge/privacy.yaml); masks keep lengths, so the decisions' offsets stay true."""
        from drafter.privacy import redact

        draft = redact(self.draft)
        return FeedbackRow(
            self.id,
            self.created_at,
            self.updated_at,
            self.engine,
            draft,
            redact(self.rewritten),
            redact(self.final),
            [
                Decision(
                    d.rule, d.start, d.end, draft[d.start : d.end], redact(d.after), d.accepted
                )
                for d in self.decisions
            ],
        )


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


# ---------------------------------------------------------------------- back ends


class _SQLite:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.path.is_dir():
            raise FeedbackStoreError(
                f"反馈数据库 {self.path} 是一个文件夹：请把 DRAFTER_FEEDBACK_DB 设为一个文件。"
            )
        if self.path.exists() and not self.path.is_file():
            raise FeedbackStoreError(
                f"反馈数据库 {self.path} 不是普通文件（设备或管道）：请把 DRAFTER_FEEDBACK_DB 设为一个文件。"
            )
        if not self.path.parent.is_dir():
            raise FeedbackStoreError(
                f"反馈数据库所在的文件夹 {self.path.parent} 不存在：请检查 DRAFTER_FEEDBACK_DB。"
            )
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise self._error(err) from None
        try:
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
                    for statement in _TABLES:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise self._error(err) from None
            try:
                yield _Cursor(conn, "?")
            except BaseException as err:
                conn.execute("ROLLBACK")
                if isinstance(err, sqlite3.Error):
                    raise self._error(err) from None
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise self._error(err) from None
        finally:
            conn.close()

    def _error(self, err: sqlite3.Error) -> Exception:
        text = str(err).lower()
        if "locked" in text or "busy" in text:
            return Transient(f"database locked: {err}")
        if "readonly" in text or "read-only" in text:
            return FeedbackStoreError(
                f"反馈数据库 {self.path} 是只读的，记不下反馈：请给它写权限，"
                "或把 DRAFTER_FEEDBACK_DB 设为可写的位置。"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return FeedbackStoreError(
                f"{self.path} 不是可用的反馈数据库（文件已损坏或不是 SQLite）："
                "请把它移走，或把 DRAFTER_FEEDBACK_DB 设为别的文件。"
            )
        if "unable to open" in text:
            return FeedbackStoreError(
                f"无法打开反馈数据库 {self.path}：请检查文件夹是否存在、是否可写。"
            )
        if "disk" in text and ("full" in text or "i/o" in text):
            return FeedbackStoreError(f"写入反馈数据库 {self.path} 失败（磁盘已满或读写错误）。")
        return FeedbackStoreError(f"反馈数据库 {self.path} 出错：{err}。")


class _Postgres:
    name = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = _without_password(url)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a dependency
            raise FeedbackStoreError("没有安装 psycopg：无法使用 DRAFTER_FEEDBACK_URL。") from None
        try:
            conn = psycopg.connect(
                self.url, connect_timeout=5, application_name="drafter", autocommit=True
            )
        except psycopg.OperationalError as err:
            raise self._error(err) from None
        except psycopg.Error as err:
            raise self._error(err) from None
        try:
            try:
                if _PG_READY.get(self.url) != SCHEMA_VERSION:
                    with conn.transaction():
                        # one replica creates the tables; the others wait for it
                        conn.execute("SELECT pg_advisory_xact_lock(7265697772697465)")
                        for statement in _TABLES:
                            conn.execute(statement)
                    _PG_READY[self.url] = SCHEMA_VERSION
                with conn.transaction():
                    yield _Cursor(conn, "%s")
            except psycopg.Error as err:
                raise self._error(err) from None
        finally:
            conn.close()

    def _error(self, err: Exception) -> Exception:
        import psycopg

        sqlstate = getattr(err, "sqlstate", None) or ""
        text = str(err)
        # A failed connection carries no SQLSTATE: the server's sentence says why.
        if sqlstate == "3D000" or ("database" in text and "does not exist" in text):
            return FeedbackStoreError(
                f"PostgreSQL 反馈库 {self.where} 中没有这个数据库：请先创建它（createdb）。"
            )
        if (
            sqlstate.startswith("28")
            or "password authentication failed" in text
            or "no pg_hba.conf entry" in text
            or ("role" in text and "does not exist" in text)
        ):
            return FeedbackStoreError(
                f"无法登录 PostgreSQL 反馈库 {self.where}：用户名或密码不对（DRAFTER_FEEDBACK_URL）。"
            )
        if sqlstate in ("42501", "25006") or "read-only" in text:
            return FeedbackStoreError(
                f"PostgreSQL 反馈库 {self.where} 不允许写入（权限不足或只读）：请检查账号权限。"
            )
        if "invalid dsn" in text or "invalid connection option" in text:
            return FeedbackStoreError(
                f"DRAFTER_FEEDBACK_URL 不是有效的 PostgreSQL 地址：{self.where}。"
            )
        if isinstance(err, psycopg.OperationalError) or sqlstate.startswith(
            ("08", "40", "53", "55", "57")
        ):
            return Transient(f"postgresql unavailable: {err}")
        return FeedbackStoreError(f"PostgreSQL 反馈库 {self.where} 出错：{type(err).__name__}。")


_PG_READY: dict[str, int] = {}


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class _Cursor:
    """The few calls the store makes, with one placeholder style for both back ends."""

    def __init__(self, conn: Any, mark: str) -> None:
        self.conn, self.mark = conn, mark

    def _sql(self, sql: str) -> str:
        return sql if self.mark == "?" else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.mark == "?":
            self.conn.executemany(sql, rows)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)


def db_path() -> Path:
    """DRAFTER_FEEDBACK_DB, else DRAFTER_HOME/feedback.db."""
    state = current()
    if state.settings.feedback_db is None:
        return state.state_dir() / "feedback.db"
    path = state.settings.feedback_db
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FeedbackStoreError(
            f"无法创建反馈数据库的文件夹 {path.parent}（{err.strerror or err}）："
            "请检查 DRAFTER_FEEDBACK_DB。"
        ) from None
    return path


def _backend(path: Path | None = None) -> _SQLite | _Postgres:
    if path is not None:
        return _SQLite(path)
    url = current().settings.feedback_url
    return _Postgres(url) if url else _SQLite(db_path())


def where() -> str:
    """Where feedback goes, for people (a PostgreSQL address without its password)."""
    return _backend().where


def _attempt(fn, path: Path | None = None, *, wait: float | None = None):
    """``fn(cursor)`` in one transaction, retried with back-off while the store is busy.

    Raises Transient when it is still busy after ``wait`` seconds (DRAFTER_FEEDBACK_WAIT)."""
    backend = _backend(path)
    limit = current().settings.feedback_wait if wait is None else wait
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        try:
            with backend.transaction() as cur:
                return fn(cur)
        except Transient:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


READ_WAIT_S = 3.0  # a read (statistics, export) waits less than a write: nothing is lost


def _run(fn, path: Path | None = None):
    """``fn`` on the store for a read: busy for too long is one sentence."""
    _flush_pending(path)
    try:
        return _attempt(fn, path, wait=min(READ_WAIT_S, current().settings.feedback_wait))
    except Transient:
        backend = _backend(path)
        hint = (
            "请检查 DRAFTER_FEEDBACK_URL 的主机和端口、服务器是否在运行"
            if backend.name == "postgresql"
            else "另一个进程正占着它，请稍后再试"
        )
        raise FeedbackStoreError(f"反馈库 {backend.where} 一直忙或连不上：{hint}。") from None


def new_id() -> str:
    return uuid.uuid4().hex


def decisions_for(changes: Sequence[Change], accepted: Sequence[bool]) -> list[Decision]:
    if len(changes) != len(accepted):
        raise InputError("采纳标记的数目与改动数目不一致（decisions do not match the changes）。")
    return [
        Decision(c.rule, c.start, c.end, c.before, c.after, bool(a))
        for c, a in zip(changes, accepted)
    ]


def _write(cur: Any, row: dict) -> None:
    cur.execute(
        "INSERT INTO feedback (id, created_at, updated_at, engine, draft, rewritten, final)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at,"
        " engine = excluded.engine, draft = excluded.draft,"
        " rewritten = excluded.rewritten, final = excluded.final",
        (
            row["id"],
            row["at"],
            row["at"],
            row["engine"],
            row["draft"],
            row["rewritten"],
            row["final"],
        ),
    )
    cur.execute("DELETE FROM decisions WHERE feedback_id = ?", (row["id"],))
    cur.executemany(
        'INSERT INTO decisions (feedback_id, position, rule, start, "end", before, after,'
        " accepted) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                row["id"],
                i,
                d["rule"],
                d["start"],
                d["end"],
                d["before"],
                d["after"],
                int(d["accepted"]),
            )
            for i, d in enumerate(row["decisions"])
        ],
    )


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
    When the store stays busy or out of reach, the record is kept aside (``pending()``) and
    written by the next call that reaches the store; it is never dropped.
    """
    decisions = decisions_for(changes, accepted)
    fid = feedback_id or new_id()
    row: dict[str, Any] = {
        "id": fid,
        "at": time.time(),
        "engine": engine,
        "draft": draft,
        "rewritten": rewritten,
        "final": apply_changes(draft, [c for c, a in zip(changes, accepted) if a]),
        "decisions": [d.to_dict() for d in decisions],
    }
    _flush_pending(path)
    try:
        _attempt(lambda cur: _write(cur, row), path)
    except Transient:
        _keep_aside(row, path)
        return fid
    _purge_now_and_then(path)
    return fid


# ---------------------------------------------------------------------- kept aside

_pending_lock = threading.Lock()


def _pending_file(path: Path | None) -> Path:
    base = path.parent if path is not None else current().state_dir()
    return base / PENDING


def _keep_aside(row: dict, path: Path | None) -> None:
    target = _pending_file(path)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _pending_lock, open(target, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def pending(path: Path | None = None) -> int:
    """How many records wait to be written (the store was busy or out of reach)."""
    target = _pending_file(path)
    try:
        with open(target, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 0


def _flush_pending(path: Path | None) -> None:
    """Write the records kept aside, oldest first; what still cannot be written stays."""
    target = _pending_file(path)
    if not target.is_file():
        return
    with _pending_lock:
        claimed = target.with_name(f"{PENDING}.{os.getpid()}.{threading.get_ident()}")
        try:
            os.replace(target, claimed)  # one process flushes a given batch
        except OSError:
            return
        rows = []
        for line in claimed.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a crash
        left: list[dict] = []
        for i, row in enumerate(rows):
            try:
                _attempt(lambda cur, row=row: _write(cur, row), path, wait=1.0)
            except Transient:
                left = rows[i:]
                break
        if left:
            with open(target, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in left)
        claimed.unlink(missing_ok=True)


# ---------------------------------------------------------------------- retention

_last_purge: dict[str, float] = {}


def purge(days: int | None = None, path: Path | None = None) -> int:
    """Delete records not updated for ``days`` (DRAFTER_FEEDBACK_RETENTION_DAYS); returns how
    many went. 0 days keeps everything."""
    days = current().settings.feedback_retention_days if days is None else days
    if days <= 0:
        return 0
    cutoff = time.time() - days * 86400

    def delete(cur: Any) -> int:
        gone = cur.execute("SELECT id FROM feedback WHERE updated_at < ?", (cutoff,)).fetchall()
        cur.execute(
            "DELETE FROM decisions WHERE feedback_id IN"
            " (SELECT id FROM feedback WHERE updated_at < ?)",
            (cutoff,),
        )
        cur.execute("DELETE FROM feedback WHERE updated_at < ?", (cutoff,))
        return len(gone)

    return int(_run(delete, path))


def _purge_now_and_then(path: Path | None) -> None:
    key = _backend(path).where
    now = time.monotonic()
    if now - _last_purge.get(key, -PURGE_EVERY_S) < PURGE_EVERY_S:
        return
    _last_purge[key] = now
    try:
        purge(path=path)
    except FeedbackStoreError:
        pass  # the record itself was written; the purge runs again later


# ---------------------------------------------------------------------- reading


def acceptance(path: Path | None = None) -> list[RuleRate]:
    """Accepted and rejected counts per rule, most judged rules first."""

    def read(cur: Any) -> list:
        return cur.execute(
            "SELECT rule, SUM(accepted), SUM(1 - accepted) FROM decisions GROUP BY rule"
        ).fetchall()

    rates = [RuleRate(rule, int(a), int(r)) for rule, a, r in _run(read, path)]
    return sorted(rates, key=lambda r: (-r.total, r.rule))


def rows(path: Path | None = None, limit: int | None = None) -> list[FeedbackRow]:
    """Every stored record with its decisions, oldest first (the newest ``limit`` if given)."""

    def read(cur: Any) -> tuple[list, list]:
        query = "SELECT id, created_at, updated_at, engine, draft, rewritten, final FROM feedback"
        if limit is not None:
            query = f"SELECT * FROM ({query} ORDER BY created_at DESC, id LIMIT {int(limit)}) AS t"
        heads = cur.execute(query + " ORDER BY created_at, id").fetchall()
        decided = cur.execute(
            'SELECT feedback_id, rule, start, "end", before, after, accepted FROM decisions'
            " ORDER BY feedback_id, position"
        ).fetchall()
        return heads, decided

    heads, decided = _run(read, path)
    found: dict[str, list[Decision]] = {h[0]: [] for h in heads}
    for fid, rule, start, end, before, after, accepted in decided:
        if fid in found:
            found[fid].append(Decision(rule, start, end, before, after, bool(accepted)))
    return [
        FeedbackRow(fid, created, updated, engine, draft, rewritten, final, decisions=found[fid])
        for fid, created, updated, engine, draft, rewritten, final in heads
    ]


def count(path: Path | None = None) -> int:
    return int(_run(lambda cur: cur.execute("SELECT COUNT(*) FROM feedback").fetchone()[0], path))
