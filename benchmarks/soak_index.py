"""Soak: searches from other processes while the index is rebuilt, and what a long-running
process keeps per rebuild.

1. ``LOOPS`` loops each run ``drafter search`` as a new process, again and again, while this
   script rebuilds the index ``REBUILDS`` times (``drafter index --rebuild``, one process each).
   A search fails when it exits non-zero or prints a traceback. Target: 0 failures.
2. One process keeps the index open and searches after each of ``REBUILDS`` rebuilds made by
   other processes; its open file descriptors and RSS are read before and after. Target: no
   growth per rebuild.

    python benchmarks/soak_index.py [--loops 8] [--rebuilds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

QUERY = "客户说你们的快递太慢了，怎么回复？"


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "drafter.cli.main", *args],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def searches_during_rebuilds(env: dict, loops: int, rebuilds: int) -> dict:
    stop = threading.Event()
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def loop() -> None:
        while not stop.is_set():
            p = _cli(["search", QUERY, "-k", "3"], env)
            with lock:
                results.append((p.returncode, p.stderr.decode("utf-8", "replace")))

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(loops)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    rebuild_failures = 0
    for _ in range(rebuilds):
        p = _cli(["index", "--rebuild"], env)
        rebuild_failures += p.returncode != 0
    stop.set()
    for t in threads:
        t.join()
    failures = [(code, err) for code, err in results if code != 0 or "Traceback" in err]
    return {
        "seconds": time.perf_counter() - t0,
        "searches": len(results),
        "failures": len(failures),
        "tracebacks": sum("Traceback" in err for _, err in failures),
        "rebuild_failures": rebuild_failures,
        "examples": sorted({err.strip().splitlines()[-1] for _, err in failures if err.strip()})[
            :5
        ],
    }


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def long_running_process(env: dict, rebuilds: int) -> dict:
    os.environ.update(env)
    from drafter.retrieval import hybrid

    hybrid.search(QUERY, k=3)
    for _ in range(2):  # warm: the first rebuilds load what stays loaded
        _cli(["index", "--rebuild"], env)
        hybrid.search(QUERY, k=3)
    fds0, rss0 = _fds(), _rss_mb()
    for _ in range(rebuilds):
        _cli(["index", "--rebuild"], env)
        hybrid.search(QUERY, k=3)
    return {
        "fds_per_rebuild": (_fds() - fds0) / rebuilds,
        "rss_mb_per_rebuild": (_rss_mb() - rss0) / rebuilds,
        "fds": (fds0, _fds()),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loops", type=int, default=8)
    ap.add_argument("--rebuilds", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="drafter-soak-") as home:
        env = {**os.environ, "DRAFTER_HOME": home}
        env.pop("DRAFTER_CHROMA_URL", None)
        first = _cli(["index"], env)
        if first.returncode != 0:
            print(first.stderr.decode())
            return 1
        r = searches_during_rebuilds(env, args.loops, args.rebuilds)
        print(
            f"{args.loops} search loops during {args.rebuilds} rebuilds ({r['seconds']:.0f} s): "
            f"{r['searches']} searches, {r['failures']} failed "
            f"({r['tracebacks']} with a traceback); rebuilds failed: {r['rebuild_failures']}"
        )
        for e in r["examples"]:
            print(f"  e.g. {e}")
        builds = sorted(p.name for p in (Path(home) / "index").glob("build-*"))
        print(f"build folders left: {len(builds)}")
        lr = long_running_process(env, args.rebuilds)
        print(
            f"long-running process over {args.rebuilds} rebuilds: "
            f"{lr['fds_per_rebuild']:+.2f} fds and {lr['rss_mb_per_rebuild']:+.2f} MB per rebuild "
            f"(fds {lr['fds'][0]} -> {lr['fds'][1]})"
        )
        ok = r["failures"] == 0 and r["rebuild_failures"] == 0 and lr["fds_per_rebuild"] < 0.5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
