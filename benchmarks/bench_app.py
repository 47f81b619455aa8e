"""App benchmark: `drafter serve` to a ready page, click to result in a real browser, and
concurrent API clients against the local server.

Prints figures; asserts nothing. Loopback only; every load is bounded (clients, seconds).
Targets: offline rewrite click → result ≤ 300 ms; 20 clients for 60 s: 0 errors, p95 ≤ 1 s.

Run: .venv/bin/python benchmarks/bench_app.py [--clients 20] [--duration 60] [--clicks 30]
     [--skip-browser] [--draft-share 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DRAFTER = str(REPO / ".venv" / "bin" / "drafter")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MAX_CLIENTS = 64
MAX_SECONDS = 600

DRAFTS = [
    "你好，你的订单可能是明天到。你为什么不早点联系我们？",
    "你们好，退款可能需要三到五个工作日，请你等一下。",
    "这个问题不是我受理的，你可能要问一下售后。",
    "你的快递可能会晚一点到，为什么不早点下单呢？",
    "您好，您的订单已发货，单号 SF1234567890，预计 5 月 20 日送达。",
    "你放心，我们一定会处理好的，你为什么这么着急？",
]
MESSAGES = [
    "我的订单 2024052188 三天了还没发货，你们怎么回事？",
    "收到的耳机左边没有声音，我要退货。",
    "你们的客服态度太差了，我要投诉！",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`drafter serve` in a subprocess on a loopback port."""

    def __init__(self, home: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, DRAFTER_HOME=home)
        env.pop("DRAFTER_AUTH", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [DRAFTER, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_ready(self, timeout: float = 180) -> float:
        """Seconds from the start until the server answers /config."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"drafter serve exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "config", timeout=1).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit("drafter serve did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def browser_session():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    return pw, browser


def page_ready_seconds(browser, server: Server) -> tuple[float, float]:
    """(serve → /config, serve → page rendered with the draft box) in seconds."""
    http = server.wait_ready()
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url)
    page.wait_for_selector("#rw-draft textarea", timeout=60_000)
    ready = time.perf_counter() - server.started
    ctx.close()
    return http, ready


CLICK_JS = """async (draft) => {
  const out = document.querySelector('#rw-rewritten textarea');
  const before = out.value;
  const t0 = performance.now();
  document.querySelector('#rw-run').click();
  return await new Promise((resolve, reject) => {
    const check = () => {
      if (out.value !== before) resolve([performance.now() - t0, out.value]);
      else if (performance.now() - t0 > 10000) reject(new Error('no result in 10 s'));
      else setTimeout(check, 1);
    };
    check();
  });
}"""


def click_to_result(browser, url: str, clicks: int) -> list[float]:
    """Milliseconds from the click on 改写 until the rewritten text shows, measured in the page."""
    from drafter.rules.engine import rewrite_offline as rewrite

    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("#rw-draft textarea")
    times = []
    for i in range(clicks + 2):
        draft = f"{DRAFTS[i % len(DRAFTS)]}（第{i}次）"
        page.fill("#rw-draft textarea", draft)
        try:
            ms, shown = page.evaluate(CLICK_JS, draft)
        except Exception as err:  # noqa: BLE001 - say what the page showed, then go on
            print(f"  click {i}: {err}; status: {page.inner_text('#rw-status')!r}")
            continue
        if shown != rewrite(draft).rewritten:
            print(f"  note: click {i} showed an unexpected text: {shown[:40]}…")
        if i >= 2:  # the first two warm the page's code paths
            times.append(ms)
    ctx.close()
    return times


class RestClient:
    """A script's view of the API: POST /gradio_api/call/<name>, then read the event stream."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/") + "/gradio_api/call"
        self.http = httpx.Client(timeout=30)

    def predict(self, text: str, api_name: str) -> dict:
        args = [text, "auto"] if api_name == "/rewrite" else [text, "chat", "auto"]
        event = self.http.post(self.base + api_name, json={"data": args}).json()["event_id"]
        body = self.http.get(f"{self.base}{api_name}/{event}").text
        kind = data = None
        for line in body.splitlines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind in ("complete", "error"):
                data = json.loads(line[6:])
        if kind != "complete":
            raise RuntimeError(f"{kind}: {data}")
        return data[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    url: str,
    clients: int,
    seconds: float,
    draft_share: float,
    kind: str = "gradio",
    server_pid: int | None = None,
) -> dict:
    """``clients`` threads calling /rewrite (and /draft) for ``seconds``: gradio_client or REST."""
    from gradio_client import Client

    assert url.startswith("http://127.0.0.1:"), "loopback only"
    stop = threading.Event()
    lock = threading.Lock()
    lat: dict[str, list[float]] = {"/rewrite": [], "/draft": []}
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            # Plain http on loopback: no TLS. With the default ssl_verify=True gradio_client
            # builds a TLS context (loads the CA store) for every call: ~80 ms of client CPU
            # per call, measured, against ~7 ms without.
            client = (
                Client(url, verbose=False, download_files=False, ssl_verify=False)
                if kind == "gradio"
                else RestClient(url)
            )
        except Exception as err:  # noqa: BLE001 - counted, reported
            with lock:
                errors.append(f"connect: {err}")
            barrier.wait()
            return
        barrier.wait()
        i = 0
        while not stop.is_set():
            i += 1
            api = "/draft" if rng.random() < draft_share else "/rewrite"
            text = (MESSAGES if api == "/draft" else DRAFTS)[i % 3 + n % 3] + f"（{n}-{i}）"
            t = time.perf_counter()
            try:
                result = client.predict(text, api_name=api)
                if not isinstance(result, dict) or (
                    "rewritten" not in result and "reply" not in result
                ):
                    raise ValueError(f"unexpected result {str(result)[:80]}")
            except Exception as err:  # noqa: BLE001
                with lock:
                    errors.append(f"{api}: {type(err).__name__}: {err}")
                continue
            with lock:
                lat[api].append(time.perf_counter() - t)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    server0 = cpu_seconds(server_pid) if server_pid else float("nan")
    stop.wait(seconds)
    stop.set()
    client_cpu = time.process_time() - cpu0
    server_cpu = (cpu_seconds(server_pid) if server_pid else float("nan")) - server0
    for t in threads:
        t.join(timeout=30)
    wall = time.perf_counter() - t0
    every = lat["/rewrite"] + lat["/draft"]
    return {
        "wall": wall,
        "latencies": lat,
        "all": every,
        "errors": errors,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def report_load(r: dict) -> None:
    allv = r["all"]
    print(
        f"  requests {len(allv)} ok, errors {len(r['errors'])} (target 0), "
        f"throughput {len(allv) / r['wall']:.1f}/s"
    )
    if allv:
        print(
            f"  latency p50 {statistics.median(allv) * 1000:.0f} ms, p95 {pct(allv, 95) * 1000:.0f} ms "
            f"(target ≤ 1000 ms), p99 {pct(allv, 99) * 1000:.0f} ms, max {max(allv) * 1000:.0f} ms"
        )
    if allv:
        print(
            f"  CPU per call: server {r['server_cpu'] / len(allv) * 1000:.1f} ms, "
            f"clients {r['client_cpu'] / len(allv) * 1000:.1f} ms (os.cpu_count() = {os.cpu_count()})"
        )
    for api, values in r["latencies"].items():
        if values:
            print(
                f"    {api}: {len(values)} calls, p50 {statistics.median(values) * 1000:.0f} ms, "
                f"p95 {pct(values, 95) * 1000:.0f} ms"
            )
    for e in r["errors"][:5]:
        print(f"  error: {e}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    ap.add_argument("--clicks", type=int, default=30)
    ap.add_argument(
        "--draft-share",
        type=float,
        default=0.0,
        help="share of API calls to /draft instead of /rewrite (default 0)",
    )
    ap.add_argument(
        "--client",
        choices=("gradio", "rest", "both"),
        default="both",
        help="API clients: gradio_client, plain REST calls (httpx), or both in turn",
    )
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    clients = max(1, min(args.clients, MAX_CLIENTS))
    seconds = max(1.0, min(args.duration, MAX_SECONDS))

    home = tempfile.mkdtemp(prefix="drafter-bench-app-")
    os.environ["DRAFTER_HOME"] = home
    browser = pw = None
    servers: list[Server] = []
    if not args.skip_browser:
        if not Path(CHROMIUM).is_file():
            raise SystemExit("needs Debian's chromium (/usr/bin/chromium) or --skip-browser")
        pw, browser = browser_session()
    try:
        print("== drafter serve → ready page")
        for label in ("cold (new DRAFTER_HOME: index built)", "warm (index on disk)"):
            server = Server(home)
            servers.append(server)
            if browser is not None:
                http, page = page_ready_seconds(browser, server)
                print(f"  {label}: server {http:.2f} s, page rendered {page:.2f} s")
            else:
                print(f"  {label}: server {server.wait_ready():.2f} s")
            if label.startswith("cold"):
                server.stop()
        # `server` (the warm one) serves the rest.
        if browser is not None:
            times = click_to_result(browser, server.url, args.clicks)
            print(f"== click → result, offline rewrite in the browser ({len(times)} clicks)")
            print(
                f"  p50 {statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms, "
                f"max {max(times):.0f} ms  (target ≤ 300 ms)"
            )
        for kind in ("gradio", "rest") if args.client == "both" else (args.client,):
            what = "gradio_client" if kind == "gradio" else "REST via httpx"
            print(f"== {clients} concurrent API clients for {seconds:.0f} s ({what}, loopback)")
            r = load(server.url, clients, seconds, args.draft_share, kind, server.proc.pid)
            report_load(r)
    finally:
        for server in servers:
            server.stop()
        if browser is not None:
            browser.close()
            pw.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
