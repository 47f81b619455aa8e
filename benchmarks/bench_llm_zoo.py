"""Figures of the LLM engine against a model zoo (prints them; nothing here is pass/fail).

    .venv/bin/python benchmarks/bench_llm_zoo.py [--clients openai|langchain|both]
        [--shapes plain,think,...] [--drafts N] [--time-scale 0.1]

The zoo is tests/llm_zoo.py: 20 good drafts with a native speaker's rewrite, served in the
shapes real stacks produce (fenced, <think>, trailing commas, wrappers, response_format
errors, bytes split mid-character, a 25 tokens/s model ...), and hostile answers (meaning
changed, facts changed, promises, links and contacts added, markup, empty, another draft,
broken or stalled transports). Everything goes through ``Drafter().rewrite(text,
engine="llm")`` over real HTTP to a fake OpenAI-compatible server on loopback.

- Per shape: the share of good answers accepted (engine "llm:<model>" and the result equal to
  the good rewrite, or at least 0.95 similar), and the share equal.
- Per hostile kind: the share accepted, i.e. the bad content reached ``.rewritten`` (or a
  must-fall-back answer did not fall back).
- The deadline overshoot (elapsed minus DRAFTER_LLM_TIMEOUT) of the hang, trickle and huge
  answers; a call still waiting 30 s past its timeout is cut off (its server stopped).

Timeouts: the good shapes run with DRAFTER_LLM_TIMEOUT=20 (the default), the slow model at
``--time-scale`` (0.1: 250 tokens/s against a 2 s timeout, the same race ten times faster);
the hostile answers run with DRAFTER_LLM_TIMEOUT=3. DRAFTER_LLM_RETRIES=2 throughout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

GOOD_TIMEOUT = 20.0
HOSTILE_TIMEOUT = 3.0
WATCHDOG = 30.0  # a hung call is given up this long after its timeout
CLOSE = 0.95


def configure(base_url: str, client: str, timeout: float) -> None:
    from fake_openai import MODEL

    os.environ.update(
        OPENAI_BASE_URL=base_url,
        OPENAI_API_KEY="bench",
        DRAFTER_LLM_MODEL=MODEL,
        DRAFTER_LLM_TIMEOUT=f"{timeout:g}",
        DRAFTER_LLM_RETRIES="2",
        DRAFTER_LLM_CLIENT=client,
    )


def reason(warnings: list[str]) -> str:
    """The first warning, short: why a good answer was not used."""
    return (warnings[0] if warnings else "no warning")[:90]


def run(text: str, limit: float = 120.0):
    """``Drafter().rewrite(text, engine="llm")`` in a thread, waited for at most ``limit``:
    (result or None, exception text or None, seconds, the thread)."""
    import threading

    from drafter import Drafter

    box: dict = {}

    def target() -> None:
        try:
            box["result"] = Drafter().rewrite(text, engine="llm")
        except Exception as e:  # noqa: BLE001 - a figure: what reached the caller
            box["error"] = f"{type(e).__name__}: {e}"[:120]
        box["end"] = time.monotonic()

    t = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        return None, f"no result after {limit:g} s", time.monotonic() - t, thread
    return box.get("result"), box.get("error"), box["end"] - t, thread


def bench_shapes(fake, client: str, names: list[str], goods, time_scale: float) -> dict:
    """shape -> (ids accepted, ids equal, slowest call, {id: why it was not accepted})."""
    import llm_zoo as zoo
    from fake_openai import MODEL

    rows = {}
    for name in names:
        timeout = GOOD_TIMEOUT * time_scale if name == "slow-25-tok-s" else GOOD_TIMEOUT
        configure(fake.base_url, client, timeout)
        accepted, equal = set(), set()
        why: dict[str, str] = {}
        seconds = []
        for g in goods:
            fake.queue.clear()
            fake.default = zoo.shapes(zoo.good_json(g), time_scale=time_scale)[name]
            r, exc, dt, _ = run(g.draft)
            seconds.append(dt)
            if r is None:
                why[g.id] = f"exception {exc}"
                continue
            used = r.engine == f"llm:{MODEL}"
            if used and r.rewritten == g.rewritten:
                equal.add(g.id)
            if used and zoo.similarity(r.rewritten, g.rewritten) >= CLOSE:
                accepted.add(g.id)
            elif used:
                why[g.id] = f"used, changed: {reason(r.warnings)}"
            else:
                why[g.id] = reason(r.warnings)
        rows[name] = (accepted, equal, max(seconds), why)
    return rows


def bench_stream(fake, client: str, goods) -> tuple[int, int, Counter]:
    """The split-UTF-8 shape again, through the streaming path (SSE, split mid-character)."""
    import llm_zoo as zoo
    from fake_openai import MODEL

    from drafter.engines.llm import rewriting

    configure(fake.base_url, client, GOOD_TIMEOUT)
    accepted, why = 0, Counter()
    for g in goods:
        fake.queue.clear()
        fake.default = zoo.shapes(zoo.good_json(g))["split-utf8-chunks"]
        try:
            final = list(rewriting.stream_rewrite(g.draft))[-1]
        except Exception as e:  # noqa: BLE001 - a figure: what reached the caller
            why[f"exception {type(e).__name__}"] += 1
            continue
        if final.engine == f"llm:{MODEL}" and zoo.similarity(final.rewritten, g.rewritten) >= CLOSE:
            accepted += 1
        else:
            why[reason(final.warnings)] += 1
    return accepted, len(goods), why


def leaked(h, r, offline: str) -> str | None:
    """What of the hostile answer reached the agent, or None."""
    if h.absent is not None and h.absent in r.rewritten:
        return f"contains {h.absent!r}"
    if h.present is not None and h.present not in r.rewritten:
        return f"lost {h.present!r}"
    if h.fall_back and (r.engine != "offline" or r.rewritten != offline):
        return f"no fallback (engine {r.engine})"
    return None


def bench_hostile(client: str) -> tuple[dict, list]:
    """Each hostile answer from a server of its own, stopped after the call: stopping it
    releases an engine still waiting on a hung or trickling answer."""
    import llm_zoo as zoo

    from drafter import Drafter

    by_kind: dict[str, list] = defaultdict(list)
    overshoot = []
    for h in zoo.HOSTILE:
        offline = Drafter().rewrite(h.draft, engine="offline").rewritten
        with zoo.ZooServer() as fake:
            configure(fake.base_url, client, HOSTILE_TIMEOUT)
            fake.default = h.script
            r, exc, dt, thread = run(h.draft, HOSTILE_TIMEOUT + WATCHDOG if h.timed else 120)
        thread.join(10)
        outcome = f"exception or no result: {exc}" if r is None else leaked(h, r, offline)
        by_kind[h.kind].append((h.name, outcome, dt))
        if h.timed:
            cut = " (cut off by the bench: still waiting)" if r is None else ""
            overshoot.append((h.name, dt - HOSTILE_TIMEOUT, cut))
    return by_kind, overshoot


def main() -> None:
    # langchain serialising a message whose content is a list (the content-parts shape)
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", choices=["openai", "langchain", "both"], default="openai")
    ap.add_argument("--shapes", default="", help="comma-separated shape names (default: all)")
    ap.add_argument("--drafts", type=int, default=0, help="only the first N good drafts")
    ap.add_argument("--time-scale", type=float, default=0.1, help="for the slow model")
    args = ap.parse_args()

    os.environ["DRAFTER_HOME"] = tempfile.mkdtemp(prefix="drafter-bench-zoo-")
    os.environ.pop("DRAFTER_LLM_CACHE", None)
    import llm_zoo as zoo

    from drafter import Drafter

    Drafter().build_index()
    goods = zoo.GOOD[: args.drafts] if args.drafts else zoo.GOOD
    names = list(zoo.shapes(zoo.good_json(goods[0])))
    if args.shapes:
        names = [n for n in args.shapes.split(",") if n in names]
    clients = ["openai", "langchain"] if args.clients == "both" else [args.clients]
    t0 = time.monotonic()
    print(
        f"{len(goods)} good drafts x {len(names)} shapes, {len(zoo.HOSTILE)} hostile answers; "
        f"clients {', '.join(clients)}; accepted = engine llm and >= {CLOSE} similar to the good "
        f"rewrite; DRAFTER_LLM_RETRIES=2, timeout {GOOD_TIMEOUT:g} s (slow model: "
        f"{GOOD_TIMEOUT * args.time_scale:g} s at time scale {args.time_scale:g}), "
        f"hostile {HOSTILE_TIMEOUT:g} s"
    )
    good_total = [0, 0]
    hostile_total = [0, 0]
    with zoo.ZooServer() as fake:
        for client in clients:
            print(
                f"\n[{client}] good answers by shape: accepted, equal, drafts accepted in plain "
                "but not in this shape, slowest call"
            )
            rows = bench_shapes(fake, client, names, goods, args.time_scale)
            base = rows["plain"][0] if "plain" in rows else {g.id for g in goods}
            for name, (acc, eq, slowest, why) in rows.items():
                n = len(goods)
                good_total[0] += len(acc)
                good_total[1] += n
                lost = sorted(base - acc)
                print(
                    f"  {name:24} {len(acc) / n:6.0%} accepted  {len(eq) / n:5.0%} equal  "
                    f"{len(lost):2} lost vs plain  {slowest:5.1f} s"
                )
                # plain: every draft not accepted; another shape: only what it lost vs plain
                shown = [i for i in why if i not in base] if name == "plain" else lost
                for w, k in Counter(why[i] for i in shown).most_common(3):
                    print(f"      {k:2} x {w}")
            if "split-utf8-chunks" in names:
                acc, n, why = bench_stream(fake, client, goods)
                print(f"  {'split-utf8 (streamed)':24} {acc / n:6.0%} accepted")
                for w, k in why.most_common(3):
                    print(f"      {k:2} x {w}")
            print(f"\n[{client}] hostile answers by kind: accepted (bad content reached the agent)")
            by_kind, overshoot = bench_hostile(client)
            for kind, items in by_kind.items():
                bad = [(n, o) for n, o, _ in items if o is not None]
                hostile_total[0] += len(bad)
                hostile_total[1] += len(items)
                print(f"  {kind:26} {len(bad)}/{len(items)} accepted")
                for n, o in bad:
                    print(f"      {n}: {o}")
            print(f"\n[{client}] deadline overshoot (elapsed - {HOSTILE_TIMEOUT:g} s timeout)")
            for n, over, cut in overshoot:
                print(f"  {n:26} {over:+6.2f} s{cut}")
    print(
        f"\ntotals: good answers accepted {good_total[0]}/{good_total[1]} "
        f"({good_total[0] / max(1, good_total[1]):.1%}); hostile answers accepted "
        f"{hostile_total[0]}/{hostile_total[1]} ({hostile_total[0] / max(1, hostile_total[1]):.1%}); "
        f"{time.monotonic() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
