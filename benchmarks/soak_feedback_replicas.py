"""Soak: two app replicas record feedback into one PostgreSQL for a minute.

Each replica is its own process with its own DRAFTER_HOME (as two machines behind a load
balancer would be) and DRAFTER_FEEDBACK_URL pointing at one server; in each, ``THREADS``
threads do what the page's copy button does (``feedback.record`` of a real rewrite, sometimes
recording the same rewrite again with other decisions), and note every id they were given.
Then: every id is in the database (0 lost), the records kept aside are 0, and both replicas
read identical statistics.

    python benchmarks/soak_feedback_replicas.py [--seconds 60] [--url postgresql://...]

Without --url a PostgreSQL server is started for the run (Debian's postgresql package).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRAFTS = [
    "你好，你的订单可能是明天到。你为什么不早点联系我们？",
    "亲，你的快递可能还在路上，你别急，我们帮你查一下。",
    "你好！关于你反映的退款问题，你可以问问财务同事。退款可能需要7个工作日。",
    "你为什么没有收到验证码？可能是网络的问题，你再试一下。",
]
THREADS = 4


def replica(args: tuple[str, str, float, int]) -> dict:
    url, home, seconds, seed = args
    os.environ["DRAFTER_HOME"] = home
    os.environ["DRAFTER_FEEDBACK_URL"] = url
    from drafter import feedback
    from drafter.rules.engine import rewrite_offline

    results = [rewrite_offline(d) for d in DRAFTS]
    ids: dict[str, list[bool]] = {}
    lock = threading.Lock()
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        rnd = random.Random(seed * 100 + n)
        while time.monotonic() < stop:
            r = rnd.choice(results)
            accepted = [rnd.random() < 0.7 for _ in r.changes]
            try:
                got = feedback.record(r.original, r.rewritten, "offline", r.changes, accepted)
                with lock:
                    ids[got] = accepted
                if rnd.random() < 0.2:  # the agent changes their mind and copies again
                    flipped = [not a for a in accepted]
                    feedback.record(
                        r.original, r.rewritten, "offline", r.changes, flipped, feedback_id=got
                    )
                    with lock:
                        ids[got] = flipped
            except Exception as err:  # noqa: BLE001 - counted, reported
                errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "ids": ids,
        "errors": errors,
        "pending": feedback.pending(),
    }


def stats_of(args: tuple[str, str]) -> list:
    url, home = args
    os.environ["DRAFTER_HOME"] = home
    os.environ["DRAFTER_FEEDBACK_URL"] = url
    from drafter import feedback

    return [(r.rule, r.accepted, r.rejected) for r in feedback.acceptance()]


def run(url: str, seconds: float) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS decisions, feedback")
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        t0 = time.perf_counter()
        with ctx.Pool(2) as pool:
            out = pool.map(replica, [(url, a, seconds, 1), (url, b, seconds, 2)])
            elapsed = time.perf_counter() - t0
            stats = pool.map(stats_of, [(url, a), (url, b)])
    written = {fid: acc for o in out for fid, acc in o["ids"].items()}
    with psycopg.connect(url) as conn:
        stored = {
            fid: [bool(x) for x in accepted]
            for fid, accepted in conn.execute(
                "SELECT feedback_id, array_agg(accepted ORDER BY position) FROM decisions"
                " GROUP BY feedback_id"
            ).fetchall()
        }
        rows = conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]
    lost = [fid for fid in written if fid not in stored]
    wrong = [fid for fid, acc in written.items() if fid in stored and stored[fid] != acc]
    errors = [e for o in out for e in o["errors"]]
    pending = sum(o["pending"] for o in out)
    print(
        f"2 replicas x {THREADS} threads for {elapsed:.0f} s: {len(written)} records "
        f"({len(written) / elapsed:.0f}/s), {rows} rows stored; lost {len(lost)}, "
        f"last decisions differing {len(wrong)}, errors {len(errors)}, kept aside {pending}; "
        f"stats identical from both replicas: {stats[0] == stats[1]}"
    )
    for e in errors[:3]:
        print("  e.g.", e)
    print(json.dumps({"rules": len(stats[0])}))
    ok = not lost and not wrong and not errors and stats[0] == stats[1] and rows == len(written)
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--url")
    args = ap.parse_args()
    if args.url:
        return run(args.url, args.seconds)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from pgserver import Missing, postgres_server

    try:
        with postgres_server() as url:
            return run(url, args.seconds)
    except Missing as why:
        print(f"skipped: {why}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
