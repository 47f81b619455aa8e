"""Run the eval suites with an engine: offline rules, a live model, or recorded replies.

- ``offline``: the rules engine and the offline composer; no network, no model.
- ``llm``: the configured model. Replies are cached under DRAFTER_HOME/llm-cache; with
  ``record=True`` every call goes to the model and its reply is saved as a cassette in
  evals/cassettes/ (keyed by request hash), with a manifest naming, per case, the prompt
  version and model it was recorded with.
- ``replay``: the cassettes only. No network connection is opened (a guard refuses any);
  a case without a recording is reported ``missing``, one recorded with another prompt
  version ``stale``; neither is skipped silently: they count as not passed.

The run is one JSON-able dict: every figure and per-case result, identical across runs on
the same inputs, except the ``timing`` section (wall times, latency p50/p95).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drafter.engines import registry
from drafter.errors import DrafterError, InputError
from drafter.evaluation import cleaning, draft_suite, rewrite_suite
from drafter.evaluation import datasets as ds
from drafter.evaluation.cassettes import no_network
from drafter.evaluation.engines import LLMEngine, OfflineEngine, _ms, input_fingerprints
from drafter.evaluation.prices import Prices, load_prices
from drafter.evaluation.retrieval import RetrievalCase, evaluate
from drafter.evaluation.rewrite_suite import per_tag
from drafter.evaluation.suites import CLEANING, SUITES, kind_and_split

FORMAT = "drafter-eval/1"

ENGINES = registry.names(evaluable=True)
RETRIEVAL_K = 5


# ---------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 3)


def _retrieval(dataset: ds.Dataset, progress=None) -> dict:
    from drafter.retrieval.hybrid import search
    from drafter.text.script import traditional_for

    timings: dict[str, float] = {}
    current: list[str] = []

    def timed(query: str, k: int):
        started = time.perf_counter()
        hits = search(query, k=k)
        timings[current[0]] = _ms(started)
        return hits

    rows = []
    for case in dataset.cases:
        current[:] = [case.id]
        rc = RetrievalCase(case.id, case["query"], list(case["relevant"]), case.tags)
        scored = evaluate([rc], k=RETRIEVAL_K, search=timed)["cases"][0]
        hit = scored[f"hit@{RETRIEVAL_K}"] == 1.0
        # The same question typed in Traditional script (Taiwan wording, OpenCC s2twp).
        rc.query = traditional_for("", case["query"])
        hit_hant = evaluate([rc], k=RETRIEVAL_K, search=search)["cases"][0][f"hit@{RETRIEVAL_K}"]
        rows.append(
            {
                "id": case.id,
                "tags": case.tags,
                "where": f"{Path(case.file).name}:{case.line}",
                "text": case["query"],
                "relevant": list(case["relevant"]),
                "status": "pass" if hit else "fail",
                "passed": hit,
                "checks": {f"hit@{RETRIEVAL_K}": hit},
                "failures": []
                if hit
                else [f"hit@{RETRIEVAL_K}: 前 {RETRIEVAL_K} 条中没有相关段落"],
                "rank": scored["rank"],
                "rr": round(scored["rr"], 4),
                "ndcg@5": round(scored["ndcg@5"], 4),
                "top": scored["top"],
                "hit_traditional": hit_hant == 1.0,
            }
        )
        if progress:
            progress("retrieval", case.id, hit)
    n = len(rows)
    summary = {
        "cases": n,
        "passed": sum(r["passed"] for r in rows),
        "pass_rate": round(sum(r["passed"] for r in rows) / n, 4),
        f"hit@{RETRIEVAL_K}": round(sum(r["passed"] for r in rows) / n, 4),
        "hit@1": round(sum(1 for r in rows if r["rank"] == 1) / n, 4),
        "mrr": round(sum(r["rr"] for r in rows) / n, 4),
        "ndcg@5": round(sum(r["ndcg@5"] for r in rows) / n, 4),
        f"hit@{RETRIEVAL_K}_traditional": round(sum(r["hit_traditional"] for r in rows) / n, 4),
    }

    return {"summary": summary, "per_tag": per_tag(rows), "cases": rows, "timings": timings}


def _inputs(loaded: dict[str, ds.Dataset], engine: Any, prices: Prices | None) -> dict:
    inputs: dict[str, Any] = {
        "datasets": {
            k: {"files": [p.name for p in d.files], "sha256": d.sha256, "cases": len(d.cases)}
            for k, d in loaded.items()
        },
        **input_fingerprints(),
    }
    if isinstance(engine, LLMEngine):
        inputs["prompts"] = dict(engine.versions)
        inputs["prices"] = (
            {"currency": prices.currency, "file": Path(prices.path).name} if prices else None
        )
    return inputs


def _usage(suites: dict[str, dict], prices: Prices | None) -> dict | None:
    """Tokens and estimated cost, in total and per suite (None for the offline engine)."""

    def total(rows: list[dict]) -> dict:
        costs = [r["cost"] for r in rows]
        priced = all(c is not None for c in costs)
        return {
            "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
            "completion_tokens": sum(r["completion_tokens"] for r in rows),
            "cost": round(sum(costs), 6) if priced else None,
        }

    per_suite = {s: [c["usage"] for c in r["cases"] if c.get("usage")] for s, r in suites.items()}
    rows = [u for us in per_suite.values() for u in us]
    if not rows:
        return None
    out = total(rows)
    out.update(
        currency=prices.currency if prices else None,
        priced=out["cost"] is not None,
        suites={s: total(us) for s, us in per_suite.items() if us},
    )
    return out


def make_engine(
    name: str, *, record: bool = False, cassettes: Path | None = None, prices: Path | None = None
):
    try:
        registry.get(name, interactive=False)
    except InputError as err:
        raise DrafterError(str(err)) from None
    if record and name != "llm":
        raise DrafterError("--record 只能与 --engine llm 一起用（录制需要真实的模型）。")
    if name == "offline":
        return OfflineEngine(), None
    table = load_prices(prices)
    mode = "replay" if name == "replay" else ("record" if record else "live")
    return LLMEngine(mode, cassettes, table), table


def run(
    suites: list[str] | tuple[str, ...] = SUITES,
    engine: str = "offline",
    *,
    record: bool = False,
    datasets_dir: Path | None = None,
    cassettes: Path | None = None,
    prices: Path | None = None,
    progress: Callable[[str, str, bool], None] | None = None,
) -> dict:
    """Load and validate the datasets, run the suites, and return the run as a dict."""
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise DrafterError(f"未知的评测集 {', '.join(unknown)}（可用：{', '.join(SUITES)}）。")
    started = time.perf_counter()
    # Every dataset is validated before any case runs: a bad line fails fast.
    loaded = {}
    for s in SUITES:
        if s in CLEANING:
            continue  # pages, not a dataset: run below
        if s in suites:
            kind, split = kind_and_split(s)
            if split == "heldout" and not ds.files_of(kind, datasets_dir, split):
                continue  # a datasets folder without a held-out file (e.g. the recordings')
            loaded[s] = ds.load(kind, directory=datasets_dir, split=split)
    eng, table = make_engine(engine, record=record, cassettes=cassettes, prices=prices)
    results: dict[str, dict] = {}
    wall: dict[str, float] = {}
    guard = no_network() if engine == "replay" else contextlib.nullcontext()
    completed = False
    clean_pages = [s for s in CLEANING if s in suites] if datasets_dir is None else []
    try:
        with guard:
            for suite, dataset in loaded.items():
                t = time.perf_counter()
                kind = kind_and_split(suite)[0]
                if kind == "rewrite":
                    results[suite] = rewrite_suite.run(dataset, eng, progress)
                elif kind == "draft":
                    results[suite] = draft_suite.run(dataset, eng, progress)
                else:
                    results[suite] = _retrieval(dataset, progress)
                wall[suite] = round(time.perf_counter() - t, 3)
            for suite in clean_pages:
                t = time.perf_counter()
                results[suite] = cleaning.run(cleaning.cleaning_dir(suite), progress=progress)
                wall[suite] = round(time.perf_counter() - t, 3)
        completed = True
    finally:
        if isinstance(eng, LLMEngine):
            eng.finish(completed)
    timing: dict[str, Any] = {"total_s": round(time.perf_counter() - started, 3), "suites": {}}
    every: list[float] = []
    for suite, res in results.items():
        lat = list(res.pop("timings").items())
        values = [ms for _, ms in lat]
        every += values
        timing["suites"][suite] = {
            "wall_s": wall[suite],
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
            "cases": dict(lat),
        }
    timing["p50_ms"], timing["p95_ms"] = percentile(every, 50), percentile(every, 95)
    replay = None
    if engine != "offline":
        statuses = [c["status"] for r in results.values() for c in r["cases"]]
        replay = {s: statuses.count(s) for s in ("missing", "stale", "fallback", "error")}
    return {
        "format": FORMAT,
        "engine": engine,
        "model": getattr(eng, "model", None),
        "suites": list(results),
        "inputs": _inputs(loaded, eng, table),
        "summary": {s: r["summary"] for s, r in results.items()},
        "usage": _usage(results, table),
        "problems": replay,
        "results": results,
        "timing": timing,
    }


def metrics(run_data: dict) -> dict[str, float | None]:
    """Every numeric summary figure as ``suite.metric`` (what --fail-under and baselines use)."""
    out: dict[str, float | None] = {}
    for suite, summary in run_data.get("summary", {}).items():
        for name, value in summary.items():
            if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{suite}.{name}"] = value
    return out


def dumps(run_data: dict) -> str:
    return json.dumps(run_data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
