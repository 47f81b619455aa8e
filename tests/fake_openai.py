"""A fake OpenAI-compatible server on loopback: real HTTP, scripted per test.

Serves ``/v1/chat/completions`` (plain JSON or SSE streaming), ``/v1/models`` and
``/v1/embeddings`` (deterministic vectors). Each chat request takes the next scripted reply
from a queue; a reply is a :class:`Reply` (status, headers, body, delay), a dict or str
(a 200 completion whose message content is that JSON / text), or a callable receiving the
request JSON and returning one of those. Every request is recorded for assertions.

Used by the tests and by benchmarks/bench_llm.py; it imports nothing from drafter.
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

MODEL = "fake-model"


@dataclass
class Reply:
    """One scripted HTTP answer. ``body`` dict → JSON; str/bytes → sent as is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow model)
    # For streaming requests: content pieces sent as SSE chunks (None = split ``content``).
    chunks: list[str] | None = None


def completion(
    content: str | None,
    *,
    finish_reason: str | None = "stop",
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    model: str = MODEL,
    choices: bool = True,
) -> dict:
    """A chat.completion body with one choice (or none when ``choices`` is False)."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ]
        if choices
        else [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def ok(data: dict | str, **kwargs: Any) -> Reply:
    """A 200 completion whose content is ``data`` (a dict is sent as its JSON text)."""
    content = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    delay = kwargs.pop("delay", 0.0)
    chunks = kwargs.pop("chunks", None)
    return Reply(200, completion(content, **kwargs), delay=delay, chunks=chunks)


def error(
    status: int,
    message: str = "fake error",
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    return Reply(
        status,
        {"error": {"message": message, "type": "fake", "code": None}},
        headers=dict(headers or {}),
        delay=delay,
    )


def embedding(text: str, dim: int = 16) -> list[float]:
    """A deterministic unit vector for ``text`` (sha256 of character bigrams, hashed)."""
    v = [0.0] * dim
    grams = [text[i : i + 2] for i in range(max(1, len(text) - 1))]
    for g in grams:
        h = hashlib.sha256(g.encode("utf-8")).digest()
        v[h[0] % dim] += 1.0 if h[1] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


Script = Reply | dict | str | Callable[[dict], Any]


class FakeOpenAI:
    """The server. ``with FakeOpenAI() as fake: fake.push(...); fake.base_url``."""

    def __init__(self, model: str = MODEL) -> None:
        self.model = model
        self.queue: deque[Script] = deque()
        self.default: Script | None = None  # used when the queue is empty
        self.requests: list[dict] = []  # {"path", "headers", "json"} of every request
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -------------------------------------------------------------------
    def push(self, *replies: Script) -> FakeOpenAI:
        self.queue.extend(replies)
        return self

    @property
    def chat_requests(self) -> list[dict]:
        return [r["json"] for r in self.requests if r["path"].endswith("/chat/completions")]

    # -- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping on a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering -------------------------------------------------------------------
    def next_reply(self, request: dict) -> Reply:
        script = self.queue.popleft() if self.queue else self.default
        if script is None:
            return error(500, "the fake server has no scripted reply left")
        if callable(script) and not isinstance(script, Reply):
            script = script(request)
        if isinstance(script, Reply):
            return script
        return ok(script)

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the server stops; True when it is stopping."""
        return self._stop.wait(seconds) if seconds > 0 else False


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as separate writes: without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to every reply ("zero latency" would not be zero).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(
            self,
            status: int,
            body: Any,
            headers: dict[str, str] | None = None,
            content_type: str = "application/json",
        ) -> None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = body or b""
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "json": None})
            if self.path.rstrip("/").endswith("/models"):
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {"id": fake.model, "object": "model", "created": 0, "owned_by": "fake"}
                        ],
                    },
                )
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = {"_raw": raw.decode("utf-8", "replace")}
            fake.requests.append(
                {"path": self.path, "headers": dict(self.headers), "json": payload}
            )
            try:
                if self.path.endswith("/chat/completions"):
                    self._chat(payload)
                elif self.path.endswith("/embeddings"):
                    inputs = payload.get("input") or []
                    inputs = [inputs] if isinstance(inputs, str) else inputs
                    self._send(
                        200,
                        {
                            "object": "list",
                            "model": payload.get("model", fake.model),
                            "data": [
                                {"object": "embedding", "index": i, "embedding": embedding(str(t))}
                                for i, t in enumerate(inputs)
                            ],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        },
                    )
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

        def _chat(self, payload: dict) -> None:
            reply = fake.next_reply(payload)
            if fake.sleep(reply.delay):
                return
            if not payload.get("stream") or reply.status != 200 or not isinstance(reply.body, dict):
                self._send(reply.status, reply.body, reply.headers)
                return
            self._stream(payload, reply)

        def _stream(self, payload: dict, reply: Reply) -> None:
            body = reply.body
            choices = body.get("choices") or []
            content = (choices[0]["message"].get("content") or "") if choices else ""
            finish = choices[0].get("finish_reason") if choices else None
            pieces = (
                reply.chunks
                if reply.chunks is not None
                else [content[i : i + 7] for i in range(0, len(content), 7)]
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.close_connection = True

            def event(choice_list: list, usage: dict | None = None) -> None:
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", fake.model),
                    "choices": choice_list,
                }
                if usage is not None:
                    chunk["usage"] = usage
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

            if choices:
                event(
                    [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None,
                        }
                    ]
                )
                for piece in pieces:
                    event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
                event([{"index": 0, "delta": {}, "finish_reason": finish}])
            if (payload.get("stream_options") or {}).get("include_usage"):
                event([], body.get("usage"))
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def delimited(request: dict, label: str = "DRAFT") -> str | None:
    """The text a request's user message carries between ``<<<LABEL tag>>>`` markers."""
    import re

    for message in request.get("messages", []):
        if message.get("role") != "user":
            continue
        pattern = rf"<<<{label} (\w+)>>>\n(.*?)\n<<<END {label} \1>>>"
        m = re.search(pattern, message["content"], re.DOTALL)
        if m:
            return m.group(2)
    return None
