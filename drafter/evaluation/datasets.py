"""Eval datasets: JSON Lines files under evals/datasets/, loaded and validated.

A file's kind is the start of its name: ``rewrite*.jsonl`` (e.g. rewrite.jsonl,
rewrite-feedback.jsonl), ``draft*.jsonl``, ``retrieval*.jsonl``. One case a line; blank lines
are skipped. Loading refuses unknown fields, wrong types, duplicate ids and unknown rule,
step or situation names, and names every problem with ``file:line`` (DatasetError). The
field tables below are the schema (documented in evals/datasets/README.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drafter import settings
from drafter.errors import DatasetError

KINDS = ("rewrite", "draft", "retrieval")
CHANNELS = ("chat", "email")
MAX_PROBLEMS_SHOWN = 5


# ---------------------------------------------------------------- field checks
# Each returns None when the value is fine, else what is wrong (one short phrase).


def _str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "应是非空字符串"


def _opt_str(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "应是字符串或 null"


def _str_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return "应是非空字符串的列表"
    return None


def _nonempty_str_list(value: Any) -> str | None:
    return _str_list(value) or (None if value else "至少要有一项")


def _channel(value: Any) -> str | None:
    return None if value in CHANNELS else f"应是 {' 或 '.join(CHANNELS)}"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    check: Callable[[Any], str | None]
    required: bool
    default: Any
    help: str


def _f(
    name: str,
    check: Callable[[Any], str | None],
    help: str,
    *,
    required: bool = False,
    default: Any = None,
) -> FieldSpec:
    return FieldSpec(name, check, required, default, help)


_COMMON = [
    _f("id", _str, "unique id of the case (unique across the files of one kind)", required=True),
    _f(
        "tags",
        _str_list,
        "labels for grouping figures: a rule id, situation, channel, topic … (may be empty)",
        required=True,
    ),
]

SCHEMAS: dict[str, list[FieldSpec]] = {
    "rewrite": _COMMON
    + [
        _f("text", _str, "the agent's draft", required=True),
        _f(
            "expected",
            _opt_str,
            "the whole expected rewrite (null: not checked); equal to "
            "text = the draft must come back unchanged",
        ),
        _f("must_contain", _str_list, "strings the rewrite must contain", default=[]),
        _f("must_not_contain", _str_list, "strings the rewrite must not contain", default=[]),
        _f(
            "expected_rules",
            _str_list,
            "ids of the rules whose changes are expected (each "
            "fires at least once); no other rule may change the draft",
            default=[],
        ),
        _f("expected_flags", _str_list, "ids of the rules that must raise a flag", default=[]),
    ],
    "draft": _COMMON
    + [
        _f("channel", _channel, "chat or email", required=True),
        _f("message", _str, "the customer's message", required=True),
        _f("situation", _opt_str, "the situation the drafter should recognise (null: any)"),
        _f("must_contain", _str_list, "strings the reply must contain", default=[]),
        _f("must_not_contain", _str_list, "strings the reply must not contain", default=[]),
        _f("facts", _str_list, "facts of the message the reply must repeat verbatim", default=[]),
        _f(
            "steps",
            _str_list,
            "the manual's steps the reply must show (greeting, apology, "
            "restate, next_step, thanks, closing …)",
            default=[],
        ),
    ],
    "retrieval": _COMMON
    + [
        _f("query", _str, "a question as an agent asks it", required=True),
        _f(
            "relevant",
            _nonempty_str_list,
            "verbatim snippets of the passages that answer it",
            required=True,
        ),
    ],
}


@dataclass
class Case:
    """One validated case: its kind, fields (defaults filled in) and where it came from."""

    kind: str
    id: str
    data: dict[str, Any]
    file: str
    line: int
    tags: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Dataset:
    kind: str
    cases: list[Case]
    files: list[Path]
    sha256: str  # of the files' bytes, in order: the run JSON names the data it measured


def datasets_dir() -> Path:
    return settings.evals_dir() / "datasets"


def kind_of(path: Path) -> str | None:
    """The kind a file holds, by the start of its name, or None."""
    for kind in KINDS:
        if path.name.startswith(kind) and path.suffix == ".jsonl":
            return kind
    return None


def files_of(kind: str, directory: Path | None = None) -> list[Path]:
    directory = Path(directory) if directory is not None else datasets_dir()
    if not directory.is_dir():
        raise DatasetError(f"找不到数据集目录 {directory}（no datasets folder）。")
    return sorted(p for p in directory.glob("*.jsonl") if kind_of(p) == kind)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = "；".join(self.items[:MAX_PROBLEMS_SHOWN])
        more = len(self.items) - MAX_PROBLEMS_SHOWN
        tail = f"（另有 {more} 处问题）" if more > 0 else ""
        raise DatasetError(f"数据集有误：{shown}{tail}。", problems=list(self.items))


def validate_record(
    kind: str,
    raw: Any,
    where: str,
    problems: _Problems,
    extra: Callable[[dict], Iterable[str]] | None = None,
) -> dict | None:
    """Check one decoded line against the kind's schema; the record with defaults, or None."""
    if not isinstance(raw, dict):
        problems.add(where, "每行应是一个 JSON 对象")
        return None
    specs = {s.name: s for s in SCHEMAS[kind]}
    ok = True
    for key in raw:
        if key not in specs:
            problems.add(where, f"未知字段 {key!r}（{kind} 可用：{', '.join(specs)}）")
            ok = False
    record: dict[str, Any] = {}
    for spec in specs.values():
        if spec.name not in raw:
            if spec.required:
                problems.add(where, f"缺少字段 {spec.name!r}")
                ok = False
            record[spec.name] = (
                list(spec.default) if isinstance(spec.default, list) else spec.default
            )
            continue
        wrong = spec.check(raw[spec.name])
        if wrong:
            problems.add(where, f"字段 {spec.name!r} {wrong}")
            ok = False
        record[spec.name] = raw[spec.name]
    if ok and extra is not None:
        for what in extra(record):
            problems.add(where, what)
            ok = False
    return record if ok else None


def _lines(path: Path, problems: _Problems) -> Iterable[tuple[int, str]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"无法读取数据集 {path}：{err.strerror}。") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: 不是 UTF-8 编码（not UTF-8）。") from None
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield n, line


def load_kind(
    kind: str,
    files: list[Path] | None = None,
    *,
    directory: Path | None = None,
    extra: Callable[[dict], Iterable[str]] | None = None,
) -> Dataset:
    """Every case of ``kind`` (from ``files`` or the datasets folder), validated."""
    if kind not in KINDS:
        raise DatasetError(f"未知的数据集类型 {kind!r}（可用：{', '.join(KINDS)}）。")
    files = list(files) if files is not None else files_of(kind, directory)
    if not files:
        where = directory if directory is not None else datasets_dir()
        raise DatasetError(f"{where} 中没有 {kind}*.jsonl 数据集（missing dataset）。")
    problems = _Problems()
    cases: list[Case] = []
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"找不到数据集 {path}（missing dataset）。")
        digest.update(path.read_bytes())
        for n, line in _lines(path, problems):
            where = f"{path}:{n}"
            try:
                raw = json.loads(line)
            except ValueError as err:
                problems.add(where, f"不是合法的 JSON（{getattr(err, 'msg', err)}）")
                continue
            record = validate_record(kind, raw, where, problems, extra)
            if record is None:
                continue
            if record["id"] in seen:
                problems.add(where, f"id {record['id']!r} 与 {seen[record['id']]} 重复")
                continue
            seen[record["id"]] = where
            cases.append(Case(kind, record["id"], record, str(path), n, list(record["tags"])))
    problems.raise_if_any()
    if not cases:
        raise DatasetError(f"{', '.join(map(str, files))}：没有任何用例（empty dataset）。")
    return Dataset(kind, cases, files, digest.hexdigest()[:16])


# ---------------------------------------------------------------- checks against the packs


def rewrite_checks(rule_ids: Iterable[str]) -> Callable[[dict], Iterable[str]]:
    """Extra checks of a rewrite case: every expected rule and flag names a rule of the pack."""
    known = set(rule_ids)

    def check(record: dict) -> Iterable[str]:
        for name in ("expected_rules", "expected_flags"):
            for rule in record[name]:
                if rule not in known:
                    yield f"{name} 中的规则 {rule!r} 不在规则包中（可用：{', '.join(sorted(known))}）"

    return check


def draft_checks(
    steps: Iterable[str], situations: Iterable[str]
) -> Callable[[dict], Iterable[str]]:
    """Extra checks of a draft case: known steps and situation; facts verbatim in the message."""
    steps, situations = list(steps), list(situations)

    def check(record: dict) -> Iterable[str]:
        for step in record["steps"]:
            if step not in steps:
                yield f"未知的步骤 {step!r}（可用：{', '.join(steps)}）"
        if record["situation"] is not None and record["situation"] not in situations:
            yield f"未知的情况 {record['situation']!r}（可用：{', '.join(situations)}）"
        for fact in record["facts"]:
            if fact not in record["message"]:
                yield f"事实 {fact!r} 不在 message 中（facts 必须逐字摘自客户消息）"

    return check


def load(kind: str, files: list[Path] | None = None, *, directory: Path | None = None) -> Dataset:
    """Load ``kind`` with the checks against the current rule and drafting packs."""
    extra = None
    if kind == "rewrite":
        from drafter.rules.pack import get_pack

        extra = rewrite_checks(r.id for r in get_pack().rules)
    elif kind == "draft":
        from drafter.drafting.pack import load_pack

        pack = load_pack()
        extra = draft_checks(pack.steps, pack.situations)
    return load_kind(kind, files, directory=directory, extra=extra)
