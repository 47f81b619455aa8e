"""Retrieval benchmark: index build, query latency, synthetic 10k/100k-passage corpora, cold start.

Prints figures; asserts nothing (timing targets belong here, not in tests).
Run: .venv/bin/python benchmarks/bench_retrieval.py [--sizes 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def fresh_home() -> None:
    os.environ["DRAFTER_HOME"] = tempfile.mkdtemp(prefix="drafter-bench-")
    from drafter.retrieval import hybrid as retrieval

    retrieval._open = None


def queries() -> list[str]:
    path = REPO / "evals" / "datasets" / "retrieval.jsonl"
    return [
        json.loads(line)["query"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def time_queries(n: int) -> tuple[float, float]:
    from drafter.retrieval import hybrid as retrieval

    qs = queries()
    retrieval.search(qs[0], k=5)  # warm: open the index
    lat = []
    for i in range(n):
        t = time.perf_counter()
        retrieval.search(qs[i % len(qs)], k=5)
        lat.append((time.perf_counter() - t) * 1000)
    return pct(lat, 50), pct(lat, 95)


def bench_corpus(n_queries: int) -> None:
    from drafter.retrieval.index import build_index

    fresh_home()
    t = time.perf_counter()
    report = build_index()
    build_s = time.perf_counter() - t
    p50, p95 = time_queries(n_queries)
    print(
        f"real corpus: {report.manuals} manuals, {report.passages} passages; "
        f"index build {build_s:.2f} s; query p50 {p50:.1f} ms, p95 {p95:.1f} ms"
    )


def synthetic_manuals(target_passages: int, directory: Path) -> None:
    """Manuals of recombined sentences of the real corpus, sized to about the target passages."""
    from drafter.knowledge.corpus import load_manuals

    sentences = []
    for m in load_manuals(REPO / "knowledge" / "manuals"):
        sentences += [s for s in re.split(r"(?<=[。！？!?])", m.text) if len(s.strip()) > 8]
    rng = random.Random(7)
    per_manual = 2000  # passages per synthetic manual file
    chars_per_passage = 75  # about one 160-token chunk once chunked
    directory.mkdir(parents=True)
    made = 0
    i = 0
    while made < target_passages:
        n = min(per_manual, target_passages - made)
        paras = []
        for _ in range(n):
            para, size = [], 0
            while size < chars_per_passage:
                s = rng.choice(sentences).strip()
                para.append(s)
                size += len(s)
            paras.append("".join(para))
        (directory / f"synthetic-{i:04d}.md").write_text(
            f"---\ntitle: 合成手册 {i}\n---\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8"
        )
        made += n
        i += 1


def bench_synthetic(size: int, n_queries: int) -> None:
    from drafter.retrieval.index import build_index

    fresh_home()
    knowledge = Path(os.environ["DRAFTER_HOME"]) / "knowledge"
    synthetic_manuals(size, knowledge / "manuals")
    os.environ["DRAFTER_KNOWLEDGE"] = str(knowledge)
    try:
        t = time.perf_counter()
        report = build_index()
        build_s = time.perf_counter() - t
        p50, p95 = time_queries(n_queries)
    finally:
        os.environ.pop("DRAFTER_KNOWLEDGE", None)
    print(
        f"synthetic {report.passages:,} passages: index {build_s:.1f} s "
        f"({report.passages / build_s:,.0f} passages/s); query p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(target p95 <= 50 ms at 100,000)"
    )


def bench_cold_start(runs: int = 5) -> None:
    env = {**os.environ}
    env.pop("DRAFTER_KNOWLEDGE", None)
    env["DRAFTER_HOME"] = tempfile.mkdtemp(prefix="drafter-cold-")
    drafter = [sys.executable, "-m", "drafter.cli.main"]
    subprocess.run(drafter + ["index"], env=env, capture_output=True, check=True)
    subprocess.run(drafter + ["search", "道歉"], env=env, capture_output=True, check=True)  # caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            drafter + ["search", "客户很生气怎么办", "-k", "3"],
            env=env,
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - t)
    imports = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; import drafter.cli.main, drafter.retrieval.hybrid; "
                "print(sorted(m for m in ('gradio','langchain_core','langchain_openai') if m in sys.modules))"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"`drafter search` cold start: median {statistics.median(times):.2f} s, max {max(times):.2f} s "
        f"(target <= 1.5 s); heavy modules imported on that path: {imports}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    bench_corpus(args.queries)
    bench_cold_start()
    for size in args.sizes:
        bench_synthetic(size, args.queries)


if __name__ == "__main__":
    main()
