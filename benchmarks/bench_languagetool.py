"""LanguageTool API benchmark: `drafter serve`'s POST /v2/check under concurrent clients.

Starts `drafter serve` on a free loopback port (the real server, the page beside the API) and
sends 500-character drafts (agents' drafts of the held-out rewrite sets, joined) from
``--clients`` clients, each on its own keep-alive connection, form-encoded as LanguageTool's
clients send them. Three loads:

- one client, one request after another (the latency of a check alone);
- closed loop: every client sends its next check as soon as the last one is answered (the
  worst case: 20 agents typing without pause, each check waiting for all the others);
- paced: every client checks once a second (the browser extension checks when typing pauses),
  and four times a second (every agent typing without a pause).

Prints figures; asserts nothing. Target (issue 17): p95 ≤ 20 ms for a 500-character text
with 20 concurrent clients. The clients run on the same two cores as the server.

Run: .venv/bin/python benchmarks/bench_languagetool.py [--clients 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

REPO = Path(__file__).resolve().parents[1]
DRAFTER = str(REPO / ".venv" / "bin" / "drafter")
CHARS = 500
MAX_CLIENTS = 64


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def drafts() -> list[str]:
    """500-character texts made of agents' drafts (held-out rewrite sets), in file order."""
    texts, buf = [], ""
    for path in sorted((REPO / "evals" / "datasets").glob("rewrite*-heldout.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                buf += json.loads(line)["text"] + "\n"
                if len(buf) >= CHARS:
                    texts.append(buf[:CHARS])
                    buf = ""
    return texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(home: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DRAFTER_HOME": home, "DRAFTER_LT_RATE": "100000000"}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DRAFTER_LLM_MODEL", "DRAFTER_AUTH"):
        env.pop(var, None)
    proc = subprocess.Popen(
        [DRAFTER, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v2/check"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/languages", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("drafter serve did not start within 120 s")


def _post(conn, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body, {"content-type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    return r.status, r.read()


def run(url: str, texts: list[str], clients: int, seconds: float, pace: float | None) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    parsed = urlsplit(url)
    bodies = [urlencode({"text": t, "language": "zh-CN"}).encode() for t in texts]

    def client(n: int) -> None:
        # http.client on one keep-alive connection: a light client, so the two cores go to
        # the server rather than to the load generator (as wrk or ab would)
        rng = random.Random(n)
        own: list[float] = []
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        nxt = time.monotonic() + (rng.random() * pace if pace else 0)
        while time.monotonic() < stop:
            if pace:
                time.sleep(max(0.0, nxt - time.monotonic()))
                nxt += pace
            body = rng.choice(bodies)
            t0 = time.perf_counter()
            try:
                status, data = _post(conn, parsed.path, body)
                ok = status == 200 and b'"matches"' in data
            except (OSError, http.client.HTTPException) as err:
                ok, status = False, err  # type: ignore[assignment]
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
            dt = (time.perf_counter() - t0) * 1000
            if ok:
                own.append(dt)
            else:
                with lock:
                    errors.append(str(status))
        conn.close()
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "per_s": len(latencies) / wall,
        "p50": pct(latencies, 50) if latencies else float("nan"),
        "p95": pct(latencies, 95) if latencies else float("nan"),
        "p99": pct(latencies, 99) if latencies else float("nan"),
    }


def show(name: str, r: dict) -> None:
    print(
        f"{name:<34} {r['requests']:>6} checks {r['per_s']:>7.1f}/s  p50 {r['p50']:6.1f} ms  "
        f"p95 {r['p95']:6.1f} ms  p99 {r['p99']:6.1f} ms  errors {r['errors']}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(1.0, min(args.seconds, 300.0))
    texts = drafts()
    print(f"{len(texts)} texts of {CHARS} characters; {clients} clients; {seconds:.0f} s a load")
    with tempfile.TemporaryDirectory() as home:
        subprocess.run(
            [DRAFTER, "index"],
            env={**os.environ, "DRAFTER_HOME": home},
            check=True,
            capture_output=True,
        )
        proc, url = serve(home)
        try:
            run(url, texts, 2, 2.0, None)  # warm up
            show("one client", run(url, texts, 1, seconds / 2, None))
            show(f"{clients} clients, closed loop", run(url, texts, clients, seconds, None))
            show(f"{clients} clients, a check a second", run(url, texts, clients, seconds, 1.0))
            show(f"{clients} clients, 4 checks a second", run(url, texts, clients, seconds, 0.25))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
