"""Figures of the LLM engine (prints them; nothing here is a pass/fail test).

    .venv/bin/python benchmarks/bench_llm.py [--runs 200] [--client openai|langchain|both]

Against the fake OpenAI-compatible server at zero latency (tests/fake_openai.py, real HTTP
on loopback), it measures what the engine adds around the model call: the offline pass,
retrieval, prompt building and token counting, then validation (facts, leftovers, alignment,
citations, scope). Overhead = wall time of rewrite_with_llm minus the model call's own
latency (RewriteResult.usage.latency_ms).

Targets: overhead p95 <= 30 ms; prompt for a 300-character draft <= 1,500 tokens.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
DATASET = REPO / "evals" / "datasets" / "rewrite.jsonl"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def drafts() -> list[str]:
    return [
        json.loads(line)["text"]
        for line in DATASET.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def draft_of_300(texts: list[str]) -> str:
    """A realistic 300-character draft: dataset drafts joined, cut at 300 characters."""
    rng = random.Random(3)
    out = ""
    while len(out) < 300:
        out += rng.choice(texts)
    return out[:300]


def model_reply(request: dict) -> dict:
    """The fake model: the offline engine's rewrite of the draft it was sent, as JSON."""
    from fake_openai import delimited

    from drafter.rules.engine import rewrite_offline as rewrite

    text = delimited(request) or ""
    r = rewrite(text)
    return {
        "rewritten": r.rewritten,
        "changes": [
            {
                "before": c.before,
                "after": c.after,
                "rule": c.rule,
                "explanation": "",
                "passage_id": c.citation.passage_id if c.citation else "",
                "quote": c.citation.quote if c.citation else "",
            }
            for c in r.changes
        ],
    }


def serve() -> None:
    """Run the fake server (``--serve``): print its URL, answer until stdin closes."""
    from fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        fake.default = model_reply
        print(fake.base_url, flush=True)
        sys.stdin.read()


@contextmanager
def fake_server() -> Iterator[str]:
    """The fake server in its own process, so its work does not share our interpreter lock."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def bench_client(client: str, texts: list[str], runs: int) -> None:
    from drafter.engines.llm import rewriting

    with fake_server() as url:
        os.environ.update(
            OPENAI_BASE_URL=url,
            OPENAI_API_KEY="bench",
            DRAFTER_LLM_MODEL="fake-model",
            DRAFTER_LLM_CLIENT=client,
        )
        for t in texts[:5]:  # warm: index, jieba, rule pack, client, connections
            rewriting.rewrite_with_llm(t)
        overhead, total, model, prep_ms, finish_ms, cpu = [], [], [], [], [], []
        engines = set()
        for i in range(runs):
            text = texts[i % len(texts)]
            t0, c0 = time.perf_counter(), time.thread_time()
            r = rewriting.rewrite_with_llm(text)
            elapsed = (time.perf_counter() - t0) * 1000
            cpu.append((time.thread_time() - c0) * 1000)
            engines.add(r.engine)
            total.append(elapsed)
            model.append(r.usage.latency_ms if r.usage else 0.0)
            overhead.append(elapsed - model[-1])
        # Where the overhead goes: preparing (offline pass, retrieval, prompt) and validating.
        from drafter.engines.llm import call
        from drafter.engines.llm.validate import REWRITE_SCHEMA

        for i in range(min(runs, 100)):
            text = texts[i % len(texts)]
            t0 = time.perf_counter()
            prep = rewriting.prepare(text)
            t1 = time.perf_counter()
            reply = call.complete_json(prep.prompt.messages, REWRITE_SCHEMA, name="rewrite")
            t2 = time.perf_counter()
            rewriting.finish(prep, reply, "fake-model")
            t3 = time.perf_counter()
            prep_ms.append((t1 - t0) * 1000)
            finish_ms.append((t3 - t2) * 1000)
    print(f"[{client}] {runs} rewrites, engines {sorted(engines)}")
    print(
        f"  engine overhead beyond the model call: p50 {pct(overhead, 50):.1f} ms, "
        f"p95 {pct(overhead, 95):.1f} ms (target <= 30 ms)"
    )
    print(
        f"  CPU time of the whole call in this thread (HTTP client included, unaffected by "
        f"other load): p50 {pct(cpu, 50):.1f} ms, p95 {pct(cpu, 95):.1f} ms"
    )
    print(
        f"  model call (fake, zero latency): p50 {pct(model, 50):.1f} ms; "
        f"total p50 {pct(total, 50):.1f} ms, p95 {pct(total, 95):.1f} ms"
    )
    print(
        f"  of which preparing p95 {pct(prep_ms, 95):.1f} ms (offline pass, retrieval, prompt), "
        f"validating p95 {pct(finish_ms, 95):.1f} ms"
    )


def bench_prompt(texts: list[str]) -> None:
    from drafter.engines.llm import rewriting
    from drafter.retrieval.chunking import count_tokens

    draft = draft_of_300(texts)
    prep = rewriting.prepare(draft)
    p = prep.prompt
    bare = rewriting.prepare(draft, passages=[]).prompt
    print(
        f"prompt for a {len(draft)}-character draft: {p.tokens} tokens (target <= 1,500; "
        f"budget DRAFTER_PROMPT_BUDGET={os.environ.get('DRAFTER_PROMPT_BUDGET', '1500')}): "
        f"system {count_tokens(p.messages[0]['content'])}, draft {count_tokens(draft)}, "
        f"{len(p.passages)} passages, {len(p.dropped)} left out; without passages {bare.tokens}"
    )
    sizes = []
    for t in texts:
        sizes.append(rewriting.prepare(t).prompt.tokens)
    print(
        f"prompt over the {len(texts)} dataset drafts: median {statistics.median(sizes):.0f}, "
        f"max {max(sizes)} tokens"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--client", choices=["openai", "langchain", "both"], default="both")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    os.environ["DRAFTER_HOME"] = tempfile.mkdtemp(prefix="drafter-bench-llm-")
    os.environ.pop("DRAFTER_LLM_CACHE", None)
    texts = drafts()
    bench_prompt(texts)
    for client in ["openai", "langchain"] if args.client == "both" else [args.client]:
        bench_client(client, texts, args.runs)


if __name__ == "__main__":
    main()
