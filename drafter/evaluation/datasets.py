"""Eval datasets: JSON Lines files under evals/datasets/, loaded and validated.

A file's kind is the start of its name: ``rewrite*.jsonl`` (e.g. rewrite.jsonl,
rewrite-feedback.jsonl), ``draft*.jsonl``, ``retrieval*.jsonl``; a name ending in
``-heldout.jsonl`` (rewrite-heldout.jsonl) is the held-out split of its kind, whose cases may
carry extra fields, the others are the dev split. One case a line; blank lines are skipped.
Each line is validated by the typed model of its kind and split (drafter.models.datasets):
unknown fields, wrong types, duplicate ids and unknown rule, step or situation names are
refused, and every problem is named with ``file:line`` (DatasetError). The models' fields are
the schema (documented in evals/datasets/README.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from drafter import settings
from drafter.drafting.pack import load_pack
from drafter.errors import DatasetError
from drafter.models import datasets as case_models
from drafter.models.base import issues
from drafter.rules.pack import get_pack

KINDS = case_models.KINDS
SPLITS = case_models.SPLITS
CHANNELS = case_models.CHANNELS
HELDOUT_SUFFIX = "-heldout.jsonl"
MAX_PROBLEMS_SHOWN = 5


# ---------------------------------------------------------------- the schema


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind's cases, as the models define it (for documentation)."""

    name: str
    required: bool
    default: Any
    help: str


def _specs(model: type[case_models.CaseBase], skip: Iterable[str] = ()) -> list[FieldSpec]:
    return [
        FieldSpec(
            name,
            info.is_required(),
            None if info.is_required() else info.get_default(call_default_factory=True),
            info.description or "",
        )
        for name, info in model.model_fields.items()
        if name not in skip
    ]


# The fields of each kind's dev cases, and those held-out cases have besides.
SCHEMAS: dict[str, list[FieldSpec]] = {
    kind: _specs(models["dev"]) for kind, models in case_models.MODELS.items()
}
HELDOUT_SCHEMAS: dict[str, list[FieldSpec]] = {
    kind: _specs(models["heldout"], models["dev"].model_fields)
    for kind, models in case_models.MODELS.items()
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
    split: str = "dev"  # "heldout" for a case of a *-heldout.jsonl file

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


def split_of(path: Path) -> str:
    """``heldout`` for a ``*-heldout.jsonl`` file, else ``dev``."""
    return "heldout" if Path(path).name.endswith(HELDOUT_SUFFIX) else "dev"


def files_of(kind: str, directory: Path | None = None, split: str | None = None) -> list[Path]:
    """The files of ``kind`` in ``directory`` (default: evals/datasets), of one split or both."""
    directory = Path(directory) if directory is not None else datasets_dir()
    if not directory.is_dir():
        raise DatasetError(f"找不到数据集目录 {directory}（no datasets folder）。")
    return sorted(
        p
        for p in directory.glob("*.jsonl")
        if kind_of(p) == kind and (split is None or split_of(p) == split)
    )


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


@dataclass(frozen=True)
class Checks:
    """The names a case of ``kind`` may use (rules, steps, situations of the current packs):
    the case models check them, given as the validation context."""

    kind: str
    context: dict[str, Any]

    def __call__(self, record: dict) -> list[str]:
        """The problems of ``record`` against these names (any other check included)."""
        problems = _Problems()
        validate_record(self.kind, record, "", problems, self, split="heldout")
        return [p.split(": ", 1)[1] for p in problems.items]


def validate_record(
    kind: str,
    raw: Any,
    where: str,
    problems: _Problems,
    extra: Callable[[dict], Iterable[str]] | None = None,
    *,
    split: str = "dev",
) -> dict | None:
    """Check one decoded line against the model of its kind and split; the record with
    defaults, or None. ``extra``: Checks (rewrite_checks, draft_checks) or any function giving
    more problems of a valid record."""
    model = case_models.MODELS[kind][split]
    context = extra.context if isinstance(extra, Checks) else None
    try:
        case = model.model_validate(raw, context=context)
    except ValidationError as err:
        for issue in issues(err, model, case_models.DATASET_STYLE):
            problems.add(where, issue.text)
        return None
    record = case.model_dump()
    if extra is not None and not isinstance(extra, Checks):
        found = list(extra(record))
        for what in found:
            problems.add(where, what)
        if found:
            return None
    return record


def _lines(path: Path, problems: _Problems) -> Iterable[tuple[int, str]]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"无法读取数据集 {path}：{err.strerror}。") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        at = data[: err.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{at}: 不是 UTF-8 编码（not UTF-8）。") from None
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield n, line


def load_kind(
    kind: str,
    files: list[Path] | None = None,
    *,
    directory: Path | None = None,
    extra: Callable[[dict], Iterable[str]] | None = None,
    split: str | None = None,
) -> Dataset:
    """Every case of ``kind`` (from ``files`` or the datasets folder: of ``split``, or both
    splits), validated; each file by the model of its split."""
    if kind not in KINDS:
        raise DatasetError(f"未知的数据集类型 {kind!r}（可用：{', '.join(KINDS)}）。")
    if split is not None and split not in SPLITS:
        raise DatasetError(f"未知的数据集划分 {split!r}（可用：{', '.join(SPLITS)}）。")
    files = list(files) if files is not None else files_of(kind, directory, split)
    if not files:
        folder = directory if directory is not None else datasets_dir()
        pattern = f"{kind}*{HELDOUT_SUFFIX}" if split == "heldout" else f"{kind}*.jsonl"
        raise DatasetError(f"{folder} 中没有 {pattern} 数据集（missing dataset）。")
    problems = _Problems()
    cases: list[Case] = []
    seen: dict[str, str] = {}
    digest = hashlib.sha256()
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"找不到数据集 {path}（missing dataset）。")
        digest.update(path.read_bytes())
        file_split = split_of(path)
        for n, line in _lines(path, problems):
            where = f"{path}:{n}"
            try:
                raw = json.loads(line)
            except ValueError as err:
                problems.add(where, f"不是合法的 JSON（{getattr(err, 'msg', err)}）")
                continue
            record = validate_record(kind, raw, where, problems, extra, split=file_split)
            if record is None:
                continue
            if record["id"] in seen:
                problems.add(where, f"id {record['id']!r} 与 {seen[record['id']]} 重复")
                continue
            seen[record["id"]] = where
            cases.append(
                Case(kind, record["id"], record, str(path), n, list(record["tags"]), file_split)
            )
    problems.raise_if_any()
    if not cases:
        raise DatasetError(f"{', '.join(map(str, files))}：没有任何用例（empty dataset）。")
    return Dataset(kind, cases, files, digest.hexdigest()[:16])


# ---------------------------------------------------------------- checks against the packs


def rewrite_checks(rule_ids: Iterable[str]) -> Checks:
    """Extra checks of a rewrite case: every expected rule and flag names a rule of the pack."""
    return Checks("rewrite", {"rules": frozenset(rule_ids)})


def draft_checks(steps: Iterable[str], situations: Iterable[str]) -> Checks:
    """Extra checks of a draft case: known steps and situation (facts verbatim in the message
    are always checked)."""
    return Checks("draft", {"steps": list(steps), "situations": list(situations)})


def load(
    kind: str,
    files: list[Path] | None = None,
    *,
    directory: Path | None = None,
    split: str | None = None,
) -> Dataset:
    """Load ``kind`` with the checks against the current rule and drafting packs."""
    extra = None
    if kind == "rewrite":
        extra = rewrite_checks(r.id for r in get_pack().rules)
    elif kind == "draft":
        pack = load_pack()
        extra = draft_checks(pack.steps, pack.situations)
    return load_kind(kind, files, directory=directory, extra=extra, split=split)
