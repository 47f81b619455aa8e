"""Soak: `drafter serve` under sustained API calls and under a flood of idle connections.

1. Memory: ``CALLS`` calls of the /rewrite API (gradio's REST call + its event stream, as
   gradio_client and scripts do), from ``CLIENTS`` keep-alive clients; the server's RSS is
   read after 1,000 calls and at the end. Target: RSS(20,000) <= 1.3 x RSS(1,000) and
   <= 500 MB.
2. Connections: the server is started with a 1,024 file-descriptor limit (a common default);
   one client (127.0.0.1) opens 1,100 connections and sends nothing; another client
   (127.0.0.2) then probes the page 20 times. Target: >= 19 of 20 answered.

    python benchmarks/soak_app.py [--calls 20000] [--clients 8] [--idle 1100]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？我们会尽快给你处理。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: str, port: int, nofile: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "DRAFTER_HOME": home}
    for name in ("DRAFTER_AUTH", "OPENAI_API_KEY", "OPENAI_BASE_URL", "DRAFTER_LLM_MODEL"):
        env.pop(name, None)

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drafter.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=limit,  # noqa: PLW1509 - started while no other thread runs
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/config")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start: " + proc.stderr.read().decode()[-500:])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def call(conn: http.client.HTTPConnection, text: str) -> dict:
    conn.request(
        "POST",
        "/gradio_api/call/rewrite",
        body=json.dumps({"data": [text, "offline"]}),
        headers={"Content-Type": "application/json"},
    )
    r = conn.getresponse()
    event = json.loads(r.read())["event_id"]
    conn.request("GET", f"/gradio_api/call/rewrite/{event}")
    body = conn.getresponse().read().decode()
    if "event: complete" not in body:
        raise RuntimeError(body[-300:])
    data = body.rsplit("data: ", 1)[1].strip()
    return json.loads(data)[0]


def memory(port: int, pid: int, calls: int, clients: int) -> dict:
    done = [0]
    errors: list[str] = []
    lock = threading.Lock()
    marks: dict[int, float] = {}

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if done[0] >= calls:
                    return
                done[0] += 1
                n = done[0]
            try:
                out = call(conn, f"{DRAFT}（第{n}次）")
                assert out["rewritten"] != DRAFT
            except Exception as err:  # noqa: BLE001 - counted
                errors.append(f"{type(err).__name__}: {err}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if n in (1000, calls // 2, calls):
                marks[n] = rss_mb(pid)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1)
    marks[calls] = rss_mb(pid)
    return {"seconds": time.perf_counter() - t0, "marks": marks, "errors": errors}


def connections(port: int, idle: int) -> dict:
    held = []
    refused = 0
    for _ in range(idle):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.append(s)
        except OSError:
            refused += 1
    time.sleep(0.5)
    answered = 0
    for _ in range(20):
        try:
            s = socket.create_connection(
                ("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0)
            )
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.sock = s
            conn.request("GET", "/gradio_api/info")
            r = conn.getresponse()
            r.read()
            answered += r.status < 500
            conn.close()
        except OSError:
            pass
    still_open = 0
    for s in held:
        s.setblocking(False)
        try:
            s.recv(1)  # b"": the server closed it
        except BlockingIOError:
            still_open += 1  # nothing to read and not closed: the server still holds it
        except OSError:
            pass
    for s in held:
        s.close()
    return {"answered": answered, "refused_at_connect": refused, "held_by_server": still_open}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--idle", type=int, default=1100)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="drafter-soak-") as home:
        subprocess.run(
            [sys.executable, "-m", "drafter.cli.main", "index"],
            env={**os.environ, "DRAFTER_HOME": home},
            capture_output=True,
            check=True,
        )
        if not args.skip_memory:
            port = free_port()
            proc = start_server(home, port)
            try:
                m = memory(port, proc.pid, args.calls, args.clients)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            first = m["marks"].get(1000, 0.0)
            last = m["marks"][args.calls]
            ratio = last / first if first else float("nan")
            print(
                f"{args.calls} API calls from {args.clients} clients in {m['seconds']:.0f} s "
                f"({args.calls / m['seconds']:.0f}/s): RSS {first:.0f} MB after 1,000, "
                f"{last:.0f} MB after {args.calls} (x{ratio:.2f}); errors {len(m['errors'])}"
            )
            for e in m["errors"][:3]:
                print("  e.g.", e)
            ok &= ratio <= 1.3 and last <= 500 and not m["errors"]
        port = free_port()
        proc = start_server(home, port, nofile=1024)
        try:
            c = connections(port, args.idle)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(
            f"{args.idle} idle connections from 127.0.0.1 (server limited to 1,024 files): "
            f"{c['answered']}/20 probes from 127.0.0.2 answered; the server kept "
            f"{c['held_by_server']} of the idle ones open"
        )
        ok &= c["answered"] >= 19
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
