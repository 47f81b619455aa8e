"""Agents' feedback from the app turned into rewrite eval cases (rewrite*.jsonl format).

Input rows, one per judged change: ``{draft, rule, decision, final_text}`` (decision:
accept | reject; ``final_text`` is what the agent kept). Rows of the same draft make one case:

- ``expected`` is the agent's final text (null when none was kept);
- ``expected_rules`` are the pack's rewrite rules with an accepted change; a rule whose
  changes were all rejected is left out, so the engine firing it again counts against
  precision;
- ``expected_flags`` are the pack's flag rules the agent accepted;
- tags: ``feedback``, each accepted rule id, ``rejected:<rule>`` for rejected ones, and
  ``unknown-rule:<rule>`` for rules the pack does not have (an LLM's ``tone`` change).

The id is ``feedback-`` plus a hash of the draft, so exporting twice adds nothing new:
:func:`append_cases` skips cases whose id or draft is already in the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from drafter.errors import DatasetError
from drafter.evaluation import datasets as ds
from drafter.rules.pack import get_pack

ACCEPT = {"accept", "accepted", "adopt", "yes", "1", "true", "采纳", "接受"}
REJECT = {"reject", "rejected", "no", "0", "false", "拒绝", "不采纳"}
REQUIRED = ("draft", "rule", "decision")
DEFAULT_FILE = "rewrite-feedback.jsonl"


def _decision(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ACCEPT:
        return True
    if word in REJECT:
        return False
    raise DatasetError(f"{where}: decision 应是 accept 或 reject，而不是 {value!r}。")


def _flat(rows: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, dict]]:
    """Flat rows; an exported record with ``decisions`` is expanded into one row each."""
    for n, row in enumerate(rows, 1):
        where = f"反馈第 {n} 行"
        if not isinstance(row, Mapping):
            raise DatasetError(f"{where}: 应是一个对象（draft, rule, decision, final_text）。")
        if "decisions" in row:  # drafter.feedback.FeedbackRow.to_dict()
            if not row["decisions"]:  # nothing was proposed: the kept text is still a case
                yield (
                    where,
                    {
                        "draft": row.get("draft"),
                        "rule": None,
                        "decision": None,
                        "final_text": row.get("final_text", row.get("final")),
                    },
                )
            for d in row["decisions"] or []:
                yield (
                    where,
                    {
                        "draft": row.get("draft"),
                        "rule": d.get("rule"),
                        "decision": d.get("accepted"),
                        "final_text": row.get("final_text", row.get("final")),
                    },
                )
            continue
        yield where, dict(row)


def cases_from_feedback(rows: Iterable[Mapping[str, Any]], rule_pack=None) -> list[dict]:
    """One rewrite case per distinct draft, in order of first appearance, each validated."""
    if rule_pack is None:
        rule_pack = get_pack()
    kinds = {r.id: ("change" if r.rewrites else "flag") for r in rule_pack.rules}
    groups: dict[str, dict] = {}
    for where, row in _flat(rows):
        judged = not (row.get("rule") is None and row.get("decision") is None and "rule" in row)
        missing = [k for k in REQUIRED if row.get(k) in (None, "") and (judged or k == "draft")]
        if missing:
            raise DatasetError(f"{where}: 缺少 {', '.join(missing)}。")
        if not isinstance(row["draft"], str) or (judged and not isinstance(row["rule"], str)):
            raise DatasetError(f"{where}: draft 和 rule 应是字符串。")
        g = groups.setdefault(row["draft"], {"accepted": [], "rejected": [], "final": None})
        if judged:
            accept = _decision(row["decision"], where)
            (g["accepted"] if accept else g["rejected"]).append(row["rule"])
        final = row.get("final_text")
        if isinstance(final, str) and final.strip():
            g["final"] = final  # the latest kept text wins
    cases = []
    problems = ds._Problems()
    for draft, g in groups.items():
        accepted, rejected = _unique(g["accepted"]), _unique(g["rejected"])
        unknown = [r for r in _unique(accepted + rejected) if r not in kinds]
        case = {
            "id": "feedback-" + hashlib.sha256(draft.encode("utf-8")).hexdigest()[:10],
            "tags": [
                "feedback",
                *[r for r in accepted if r in kinds],
                *[f"rejected:{r}" for r in rejected if r not in accepted],
                *[f"unknown-rule:{r}" for r in unknown],
            ],
            "text": draft,
            "expected": g["final"],
            "must_contain": [],
            "must_not_contain": [],
            "expected_rules": sorted(r for r in accepted if kinds.get(r) == "change"),
            "expected_flags": sorted(r for r in accepted if kinds.get(r) == "flag"),
        }
        record = ds.validate_record("rewrite", case, case["id"], problems, ds.rewrite_checks(kinds))
        if record is not None:
            cases.append(case)
    problems.raise_if_any()
    return cases


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def to_jsonl(cases: Iterable[dict]) -> str:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)


def default_path() -> Path:
    return ds.datasets_dir() / DEFAULT_FILE


def append_cases(cases: Iterable[dict], path: Path | None = None) -> tuple[int, int]:
    """Append the cases not yet in ``path`` (by id or draft); (added, skipped)."""
    path = Path(path) if path is not None else default_path()
    ids, texts = set(), set()
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        for case in ds.load_kind("rewrite", [path]).cases:
            ids.add(case.id)
            texts.add(case["text"])
    new = []
    skipped = 0
    for c in cases:
        if c["id"] in ids or c["text"] in texts:
            skipped += 1
            continue
        ids.add(c["id"])
        texts.add(c["text"])
        new.append(c)
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = path.read_text(encoding="utf-8") if path.is_file() else ""
        prefix = "" if not existing or existing.endswith("\n") else "\n"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(prefix + to_jsonl(new))
    return len(new), skipped
