"""Offline drafting speed: every message of evals/datasets/draft*.jsonl drafted for chat and
for e-mail, warm (prints figures; nothing here is pass/fail).

    .venv/bin/python benchmarks/bench_draft.py [--rounds 3]

Target (issue 13): drafting stays <= 50 ms per message offline. The analysis (issues,
slots), the composer, the tone pass and, for Traditional messages, OpenCC are all in it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from drafter import Drafter

    d = Drafter()
    messages = []
    for path in sorted((REPO / "evals" / "datasets").glob("draft*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                messages.append(json.loads(line)["message"])
    t0 = time.perf_counter()
    for m in messages:  # warm: jieba, the packs, OpenCC, the index (ties go to retrieval)
        d.draft(m, channel="email", engine="offline")
    warm = time.perf_counter() - t0
    times = []
    for _ in range(args.rounds):
        for m in messages:
            for channel in ("chat", "email"):
                t0 = time.perf_counter()
                d.draft(m, channel=channel, engine="offline")
                times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    longest = max(messages, key=len)
    t0 = time.perf_counter()
    d.draft(longest, channel="email", engine="offline")
    one = (time.perf_counter() - t0) * 1000
    print(
        f"{len(messages)} messages x 2 channels x {args.rounds} rounds: "
        f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms "
        f"(target <= 50 ms); longest message ({len(longest)} characters) {one:.1f} ms; "
        f"the first pass, loading everything, {warm:.1f} s"
    )


if __name__ == "__main__":
    main()
