"""What the rewrite and draft suites share when they turn one engine call into a result row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drafter.evaluation.datasets import Case


def where(case: Case) -> str:
    """``file:line`` of a case, for the report."""
    return f"{Path(case.file).name}:{case.line}"


def add_usage(a: dict, b: dict) -> dict:
    """Usage of two calls together ({} for engines without tokens)."""
    if not a or not b:
        return dict(a or b)
    cost_a, cost_b = a.get("cost"), b.get("cost")
    return {
        "prompt_tokens": a["prompt_tokens"] + b["prompt_tokens"],
        "completion_tokens": a["completion_tokens"] + b["completion_tokens"],
        "cost": round(cost_a + cost_b, 8) if cost_a is not None and cost_b is not None else None,
    }


def unscored(out: Any, checks: tuple[str, ...] | list[str]) -> dict:
    """Row fields of a case whose call gave no result (missing, stale, error)."""
    return {
        "status": out.status,
        "passed": False,
        "note": out.note,
        "failures": [f"{out.status}: {out.note}"],
        "checks": dict.fromkeys(checks),
    }


def scored(out: Any, figures: dict, second: Any | None, check: str) -> dict:
    """Row fields of a scored case; a second call (``check``) that gave no result fails it."""
    if second is not None and second.result is None:
        figures["failures"].append(f"{check}: {second.status}: {second.note}")
        figures["checks"][check] = False
        figures["passed"] = False
    status = out.status if out.status != "ok" else ("pass" if figures["passed"] else "fail")
    return {"status": status, "note": out.note, **figures}
