"""Compare a run with an earlier one (``--baseline RUN.json``) and check thresholds.

Per case: passed before and not now is a regression, the reverse an improvement; a case
that still fails but for other reasons is listed as changed. Cases only in one of the runs
are listed as added or removed. Per figure: the summary metrics of both runs side by side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from drafter.errors import DrafterError
from drafter.evaluation.runner import FORMAT, metrics


class BaselineError(DrafterError):
    """The baseline file is missing or not an eval run; the message names the file."""


class ThresholdError(DrafterError):
    """A --fail-under argument is malformed or names an unknown metric."""


@dataclass
class Comparison:
    baseline: str  # the file compared against
    regressions: list[dict] = field(default_factory=list)  # {suite, id, before, after, failures}
    improvements: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # failing in both, for other reasons
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    metrics: dict[str, dict] = field(default_factory=dict)  # name -> {before, after, delta}
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "baseline": self.baseline,
            "regressions": self.regressions,
            "improvements": self.improvements,
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "metrics": self.metrics,
            "notes": self.notes,
        }


def load_run(path: Path) -> dict:
    """An earlier run written by ``drafter eval --json``; BaselineError when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"找不到基线文件 {path}（baseline missing）。") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BaselineError(f"无法读取基线文件 {path}：{err}。") from None
    except ValueError as err:
        line = getattr(err, "lineno", "?")
        raise BaselineError(
            f"{path}:{line}: 基线文件不是合法的 JSON（{getattr(err, 'msg', err)}）。"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("results"), dict)
    ):
        raise BaselineError(f"{path} 不是 drafter eval --json 的输出（format 应为 {FORMAT}）。")
    return data


def _index(run: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for suite, res in run.get("results", {}).items():
        for case in res.get("cases", []):
            out[(suite, case["id"])] = case
    return out


def compare(current: dict, baseline: dict, name: str = "") -> Comparison:
    """Per-case and per-figure differences of ``current`` against ``baseline``."""
    cmp = Comparison(name)
    if baseline.get("engine") != current.get("engine") or baseline.get("model") != current.get(
        "model"
    ):
        cmp.notes.append(
            f"基线用的引擎是 {baseline.get('engine')}（{baseline.get('model') or '-'}），"
            f"本次是 {current.get('engine')}（{current.get('model') or '-'}）。"
        )
    before_inputs, after_inputs = baseline.get("inputs", {}), current.get("inputs", {})
    for key in sorted(set(before_inputs) | set(after_inputs)):
        if key != "datasets" and before_inputs.get(key) != after_inputs.get(key):
            cmp.notes.append(
                f"{key} 与基线不同（{before_inputs.get(key)} → {after_inputs.get(key)}）。"
            )
    old, new = _index(baseline), _index(current)
    suites = set(current.get("suites", []))
    for key in sorted(set(old) | set(new)):
        suite, case_id = key
        if suite not in suites:
            continue  # a suite not run this time is not compared
        a, b = old.get(key), new.get(key)
        if a is None:
            assert b is not None  # every key is in old or in new
            cmp.added.append({"suite": suite, "id": case_id, "passed": b["passed"]})
            continue
        if b is None:
            cmp.removed.append({"suite": suite, "id": case_id, "passed": a["passed"]})
            continue
        row = {
            "suite": suite,
            "id": case_id,
            "before": a.get("status"),
            "after": b.get("status"),
            "failures": b.get("failures", []),
        }
        if a["passed"] and not b["passed"]:
            cmp.regressions.append(row)
        elif b["passed"] and not a["passed"]:
            cmp.improvements.append(row)
        elif not b["passed"] and sorted(a.get("failures", [])) != sorted(b.get("failures", [])):
            row["before_failures"] = a.get("failures", [])
            cmp.changed.append(row)
    m_old, m_new = metrics(baseline), metrics(current)
    for metric in sorted(m_new):
        if metric.split(".", 1)[0] not in suites:
            continue
        before, after = m_old.get(metric), m_new[metric]
        delta = (
            round(after - before, 4)
            if isinstance(before, (int, float)) and isinstance(after, (int, float))
            else None
        )
        cmp.metrics[metric] = {"before": before, "after": after, "delta": delta}
    return cmp


# ---------------------------------------------------------------- thresholds


def parse_threshold(text: str) -> tuple[str, float]:
    """``METRIC=VALUE`` (e.g. ``rewrite.pass_rate=0.95``, ``retrieval.hit@5=0.9``)."""
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise ThresholdError(
            f"--fail-under 的格式是 METRIC=VALUE（如 rewrite.pass_rate=0.95），而不是 {text!r}。"
        ) from None


def check_thresholds(run: dict, thresholds: list[tuple[str, float]]) -> list[dict]:
    """Every threshold with the figure found: ``{metric, minimum, value, met}``.

    A bare name (``pass_rate``) applies to every suite of the run that has it.
    """
    figures = metrics(run)
    out = []
    for name, minimum in thresholds:
        names = [name] if "." in name else sorted(m for m in figures if m.split(".", 1)[1] == name)
        if not names or any(n not in figures for n in names):
            known = ", ".join(sorted(figures))
            raise ThresholdError(f"--fail-under：没有名为 {name!r} 的指标（可用：{known}）。")
        for n in names:
            value = figures[n]
            out.append(
                {
                    "metric": n,
                    "minimum": minimum,
                    "value": value,
                    "met": value is not None and value >= minimum,
                }
            )
    return out
