"""Figures of the LLM rewrite's checks (validation + meaning guard) on rewrites as answers.

    .venv/bin/python benchmarks/bench_guard.py [--show N]

No model and no HTTP: each (draft, rewrite) pair is handed to the LLM engine's ``finish`` as
if a model had answered ``{"rewritten": rewrite}``, exactly as a real reply is checked.

- **Human references**: the ``reference`` rewrite of every held-out rewrite case
  (evals/datasets/rewrite*-heldout.jsonl, written by annotators who never saw the engine):
  the share used whole (nothing put back, no fallback), put back in part, or refused. Context,
  not a target: annotators wrote the reply they would send, which often goes beyond a tone
  pass (a blind promise taken out, an offer or a next step added, a lecture rewritten whole),
  and a model's tone pass must not do that.
- **The guard set** (evals/datasets/guard-heldout.jsonl, written blind to the checker): good
  rewrites that must be used whole, and rewrites that change the meaning in one place, which
  must not reach the agent as they are (some sentence put back, or the whole answer refused).

Nothing here is pass/fail; it prints figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATASETS = REPO / "evals" / "datasets"
GUARD_SET = DATASETS / "guard-heldout.jsonl"


def check(draft: str, rewrite: str):
    """(outcome, result): outcome is "used", "reverted" (some sentences put back) or
    "refused" (the offline result), as the engine decides for this answer."""
    from drafter.engines.llm import call, rewriting
    from drafter.types import Usage

    prep = rewriting.prepare(draft, passages=[])
    reply = call.ChatReply(
        content=json.dumps({"rewritten": rewrite}, ensure_ascii=False),
        data={"rewritten": rewrite},
        model="bench",
        finish_reason="stop",
        usage=Usage(0, 0, 0.0),
        attempts=1,
        mode="json_schema",
    )
    result = rewriting.finish(prep, reply, "bench")
    if result.engine == "offline":
        return "refused", result
    if any("meaning changes reverted" in w for w in result.warnings):
        return "reverted", result
    return "used", result


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--show", type=int, default=0, help="print up to N cases judged wrongly")
    args = ap.parse_args()

    from drafter import Drafter

    with Drafter().state.active():
        refs = []
        for path in sorted(DATASETS.glob("rewrite*-heldout.jsonl")):
            refs += [(path.stem, c) for c in load(path) if c.get("reference")]
        outcomes: Counter[str] = Counter()
        wrong: list[tuple[str, str, list[str]]] = []
        for _set, case in refs:
            outcome, result = check(case["text"], case["reference"])
            outcomes[outcome] += 1
            if outcome != "used":
                wrong.append((case["id"], outcome, result.warnings[-1:]))
        n = len(refs)
        print(f"human references ({n}, good rewrites): used whole {outcomes['used'] / n:.1%}, ")
        print(f"  some sentence put back {outcomes['reverted'] / n:.1%}, ")
        print(f"  refused {outcomes['refused'] / n:.1%}")
        for cid, outcome, why in wrong[: args.show]:
            print(f"    {cid} {outcome}: {why}")

        if not GUARD_SET.is_file():
            print("guard set: evals/datasets/guard-heldout.jsonl is missing")
            return
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        misjudged = []
        for case in load(GUARD_SET):
            outcome, result = check(case["draft"], case["rewrite"])
            by_kind[(case["meaning_changed"], case["kind"])][outcome] += 1
            right = (outcome != "used") if case["meaning_changed"] else (outcome == "used")
            if not right:
                misjudged.append((case, outcome, result))
        for changed in (False, True):
            total = Counter[str]()
            label = "meaning changed (must not be used whole)" if changed else "good (must be used)"
            print(f"guard set, {label}:")
            for (c, kind), counts in sorted(by_kind.items()):
                if c != changed:
                    continue
                total.update(counts)
                k = sum(counts.values())
                share = (k - counts["used"]) / k if changed else counts["used"] / k
                print(f"  {kind:22} {share:6.1%} of {k}")
            k = sum(total.values())
            share = (k - total["used"]) / k if changed else total["used"] / k
            print(f"  {'all':22} {share:6.1%} of {k}")
        for case, outcome, result in misjudged[: args.show]:
            print(f"  -- {case['id']} {case['kind']} ({outcome}): {case['notes']}")
            print(f"     draft:   {case['draft'][:160]}")
            print(f"     rewrite: {case['rewrite'][:160]}")
            print(f"     warn:    {result.warnings[-1:] if result.warnings else ''}")


if __name__ == "__main__":
    main()
