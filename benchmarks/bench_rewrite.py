"""Figures of the offline rewrite engine (prints them; nothing here is a pass/fail test).

    .venv/bin/python benchmarks/bench_rewrite.py [--quick]

Targets: >= 1,000 drafts/s in-process for 200-character drafts; p95 <= 10 ms for a
2,000-character e-mail; `drafter rewrite` cold start <= 0.6 s.

Drafts are composed from evals/datasets/rewrite.jsonl. The 200-character drafts and the
"dense" e-mails are made only of sentences from the dataset (about seven changes per 200
characters: a worst case); the "e-mail" is mostly compliant text with ten faulty sentences.
Wall-clock figures suffer on a busy machine; the *_cpu_* figures count this process's CPU
time only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATASET = REPO / "evals" / "datasets" / "rewrite.jsonl"
HEAVY = (
    "chromadb",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "gradio",
    "openai",
    "tiktoken",
)


def _texts() -> list[str]:
    return [
        json.loads(line)["text"]
        for line in DATASET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _compose(rng: random.Random, pieces: list[str], size: int) -> str:
    out = ""
    while len(out) < size:
        out += rng.choice(pieces) + rng.choice(["", "\n", "，"])
    return out[:size]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def bench_in_process(n_short: int, n_long: int) -> dict:
    from drafter.rules.engine import rewrite_offline as rewrite

    rng = random.Random(7)
    pieces = [t for t in _texts() if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    t0 = time.perf_counter()
    rewrite(pieces[0])  # loads the rule pack, the corpus citations and jieba
    first_call = time.perf_counter() - t0

    short = [_compose(rng, pieces, 200) for _ in range(n_short)]
    t0, c0 = time.perf_counter(), time.process_time()
    changes = 0
    for text in short:
        changes += len(rewrite(text).changes)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0

    # A realistic e-mail: mostly sentences that follow the rules, about ten that do not.
    cases = [
        json.loads(line)
        for line in DATASET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    clean = [
        c["text"]
        for c in cases
        if c["expected"] == c["text"]
        and not c["expected_flags"]
        and any("\u4e00" <= ch <= "\u9fff" for ch in c["text"])
    ]
    faulty = [c["text"] for c in cases if c["expected_rules"] and len(c["text"]) < 80]
    emails = []
    for _ in range(20):
        body = _compose(rng, clean, 1700)
        for sentence in rng.sample(faulty, 10):
            cut = rng.randrange(len(body))
            body = body[:cut] + sentence + body[cut:]
        emails.append(body[:2000])
    # The worst case: every sentence breaks a rule (about 70 changes per e-mail).
    dense = [_compose(rng, pieces, 2000) for _ in range(20)]

    def latencies(texts: list[str]) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for i in range(n_long):
            t, c = time.perf_counter(), time.process_time()
            rewrite(texts[i % len(texts)])
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        return wall, cpu

    (lat, lat_cpu), (lat_dense, lat_dense_cpu) = latencies(emails), latencies(dense)
    return {
        "first_call_s": round(first_call, 3),
        "drafts_per_s_200_chars": round(n_short / elapsed, 1),
        "drafts_per_cpu_s_200_chars": round(n_short / cpu, 1),
        "mean_ms_200_chars": round(elapsed / n_short * 1000, 3),
        "changes_per_200_chars": round(changes / n_short, 2),
        "email_2000_chars_p50_ms": round(_pct(lat, 0.50), 2),
        "email_2000_chars_p95_ms": round(_pct(lat, 0.95), 2),
        "email_2000_chars_max_ms": round(max(lat), 2),
        "email_2000_chars_cpu_p95_ms": round(_pct(lat_cpu, 0.95), 2),
        "dense_email_2000_chars_p50_ms": round(_pct(lat_dense, 0.50), 2),
        "dense_email_2000_chars_p95_ms": round(_pct(lat_dense, 0.95), 2),
        "dense_email_2000_chars_cpu_p95_ms": round(_pct(lat_dense_cpu, 0.95), 2),
    }


def _subprocess_seconds(args: list[str], stdin: bytes, env: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(args, input=stdin, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{args} failed: {proc.stderr.decode()}")
    return times


def bench_cold_start(runs: int) -> dict:
    exe = REPO / ".venv" / "bin" / "drafter"
    py = REPO / ".venv" / "bin" / "python"
    draft = next(t for t in _texts() if len(t) > 150).encode("utf-8")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "DRAFTER_HOME": home}
        for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DRAFTER_LLM_MODEL"):
            env.pop(var, None)
        # The very first run builds jieba's compact dictionary and cache under DRAFTER_HOME.
        first = _subprocess_seconds([str(exe), "rewrite", "-"], draft, env, 1)[0]
        warm = _subprocess_seconds([str(exe), "rewrite", "-"], draft, env, runs)
        offline = _subprocess_seconds(
            [str(exe), "rewrite", "--engine", "offline", "-"], draft, env, runs
        )
        check = _subprocess_seconds([str(exe), "check", "-"], draft, env, runs)
        bare = _subprocess_seconds([str(py), "-c", "pass"], b"", env, runs)
        jieba_code = (
            "import time; t=time.perf_counter(); from drafter.text import segment; "
            "segment._get(); print(time.perf_counter()-t)"
        )
        jieba = subprocess.run(
            [str(py), "-c", jieba_code], capture_output=True, env=env, cwd=str(REPO), check=False
        )
        modules_code = (
            "import sys, io; from drafter.cli.main import main; "
            "sys.stdin = io.TextIOWrapper(io.BytesIO(sys.argv[1].encode())); "
            "sys.stdout = io.StringIO(); main(['rewrite', '-']); sys.stdout = sys.__stdout__; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r})))"
        )
        modules = subprocess.run(
            [str(py), "-c", modules_code, draft.decode()],
            capture_output=True,
            env=env,
            cwd=str(REPO),
            check=False,
        )
    return {
        "cli_first_run_ever_s": round(first, 3),
        "cli_rewrite_auto_median_s": round(statistics.median(warm), 3),
        "cli_rewrite_offline_median_s": round(statistics.median(offline), 3),
        "cli_check_median_s": round(statistics.median(check), 3),
        "python_startup_median_s": round(statistics.median(bare), 3),
        "jieba_load_s": round(float(jieba.stdout.strip() or "nan"), 3),
        "heavy_modules_imported_by_rewrite": modules.stdout.decode().strip()
        or modules.stderr.decode()[-300:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    os.environ.setdefault("DRAFTER_HOME", tempfile.mkdtemp(prefix="drafter-bench-"))
    n_short, n_long, runs = (300, 100, 3) if args.quick else (3000, 500, 7)
    figures = {**bench_in_process(n_short, n_long), **bench_cold_start(runs)}
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    ok = (
        figures["drafts_per_s_200_chars"] >= 1000
        and figures["email_2000_chars_p95_ms"] <= 10
        and figures["cli_rewrite_auto_median_s"] <= 0.6
    )
    print("targets met" if ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
