"""The LanguageTool API as ASGI middleware: ``/v2/…`` is answered here, the rest goes on.

`drafter serve` wraps the Gradio app in :class:`LanguageToolAPI`, so one server gives the page
and the API that LanguageTool's clients speak (browser extension, LTeX, Thunderbird and
LibreOffice add-ons, language-tool-python, pylanguagetool). The middleware adds what those
clients need and a shared server must have:

- CORS for the origins in DRAFTER_LT_ORIGINS (``*``, exact origins, ``scheme://*``);
- the login of DRAFTER_AUTH, as HTTP Basic or as the ``username``/``apiKey`` parameters that
  LanguageTool's premium clients send (``/v2/languages`` stays open, as LanguageTool's does);
- a request-size limit and a per-client rate limit (DRAFTER_LT_RATE requests a minute),
  refused as LanguageTool refuses: ``Error: …`` as plain text with status 400/401/404/413/429.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote

from drafter.core import Drafter
from drafter.languagetool import protocol
from drafter.types import Citation
from drafter.web import credentials

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PREFIX = "/v2/"
BYTES_PER_CHAR = 12  # a CJK character form-encoded is 9 bytes (%E4%BD%A0); markup adds more
MIN_BODY = 1 << 20
INLINE_CHARS = 2000  # texts up to this length are checked on the event loop (≤ 10 ms)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("drafter")
    except PackageNotFoundError:
        return "0"


class RateLimiter:
    """A token bucket per client: ``per_minute`` requests a minute, bursts of a quarter."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(5.0, per_minute / 4)
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go; else the seconds until it may."""
        now = time.monotonic()
        with self.lock:
            tokens, then = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self.buckets[key] = (tokens - 1, now)
                if len(self.buckets) > 10_000:  # forget idle clients
                    self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 120}
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    return any(a == "*" or a == origin or fnmatch.fnmatchcase(origin, a) for a in allowed)


class LanguageToolAPI:
    """ASGI middleware serving LanguageTool's ``/v2/check`` and ``/v2/languages``."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]] | None,
        drafter: Drafter,
        users: list[tuple[str, str]] | None = None,
        origins: list[str] | None = None,
        rate_per_minute: int = 600,
    ) -> None:
        self.app = app
        self.drafter = drafter
        self.users = [(u.encode(), p.encode()) for u, p in users or []]
        self.origins = origins or []
        self.limiter = RateLimiter(rate_per_minute)
        self.software = {
            "name": "drafter",
            "version": _version(),
            "buildDate": "",
            "apiVersion": protocol.API_VERSION,
            "premium": False,
            "status": "",
        }

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            if self.app is None:
                await self._plain(send, 404, "Error: 这里只有 /v2/check 和 /v2/languages。", {})
                return
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        cors = self._cors(headers.get("origin"))
        method = scope["method"]
        if method == "OPTIONS":
            await self._plain(send, 204, "", cors, preflight=True)
            return
        try:
            status, body = await self._answer(scope, receive, path, method, headers)
        except protocol.LTError as err:
            extra = dict(cors)
            if err.status == 401:
                extra["www-authenticate"] = 'Basic realm="drafter", charset="UTF-8"'
            if err.status == 429:
                extra["retry-after"] = str(err.retry_after or 1)
            if err.status == 405:
                extra["allow"] = "GET" if path == "/v2/languages" else "GET, POST"
            await self._plain(send, err.status, f"Error: {err.message}", extra)
            return
        except Exception as err:  # noqa: BLE001 - the edge: one sentence, never a traceback
            from drafter.web.handlers import problem

            await self._plain(send, 500, f"Error: {problem(err)}", cors)
            return
        await self._json(send, status, body, cors)

    async def _answer(
        self, scope: Scope, receive: Receive, path: str, method: str, headers: dict[str, str]
    ) -> tuple[int, Any]:
        if path == "/v2/languages":
            if method not in ("GET", "HEAD"):
                raise protocol.LTError(405, "/v2/languages 只接受 GET。")
            return 200, protocol.LANGUAGES
        if path != "/v2/check":
            raise protocol.LTError(
                404, f"没有 {path} 这个接口（只有 /v2/check 和 /v2/languages）。"
            )
        if method not in ("GET", "POST"):
            raise protocol.LTError(405, "/v2/check 只接受 GET 和 POST。")
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if method == "POST":
            params.update(await self._form(receive, headers))
        user = self._login(headers, params)
        wait = self.limiter.take(user or self._client(scope))
        if wait:
            seconds = max(1, round(wait))
            raise protocol.LTError(
                429,
                f"请求太频繁，请 {seconds} 秒后再试（too many requests）。",
                retry_after=seconds,
            )
        request = protocol.parse_check(params, self.drafter.settings.max_chars)
        base = self._base_url(scope, headers)

        def run() -> dict:
            with self.drafter.state.active():
                from drafter.rules.pack import get_pack

                rules = {r.id: r.description for r in get_pack().rules}
                result = self.drafter.rewrite(request.document.plain, engine="offline")
            return protocol.check(request, result, rules, self._passage_url(base), self.software)

        if len(request.document.plain) <= INLINE_CHARS:
            return 200, run()  # a few milliseconds: a thread hop would cost more than it saves
        from starlette.concurrency import run_in_threadpool

        return 200, await run_in_threadpool(run)

    # ------------------------------------------------------------------ pieces

    async def _form(self, receive: Receive, headers: dict[str, str]) -> dict[str, str]:
        limit = max(MIN_BODY, self.drafter.settings.max_chars * BYTES_PER_CHAR)
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise protocol.LTError(
                413, f"请求有 {declared} 字节，超过上限 {limit}（request too large）。"
            )
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise protocol.LTError(413, f"请求超过 {limit} 字节的上限（request too large）。")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("", "application/x-www-form-urlencoded"):
            raise protocol.LTError(
                400,
                f"请求体应为 application/x-www-form-urlencoded（got {kind}），"
                "参数与 LanguageTool 相同。",
            )
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise protocol.LTError(
                400, "请求体不是 UTF-8 编码（the body is not UTF-8）。"
            ) from None

    def _login(self, headers: dict[str, str], params: dict[str, str]) -> str | None:
        """The logged-in user's name; None when no login is configured. Raises 401."""
        if not self.users:
            return None
        user, password = credentials.basic(headers.get("authorization", "")) or (b"", b"")
        if not user and (params.get("username") or params.get("apiKey")):
            user = params.get("username", "").encode()
            password = params.get("apiKey", "").encode()
        if not credentials.known(self.users, user, password):
            raise protocol.LTError(
                401,
                "需要登录：用 HTTP Basic，或参数 username 和 apiKey（DRAFTER_AUTH 里的用户名和密码）。",
            )
        return user.decode("utf-8", "replace")

    @staticmethod
    def _client(scope: Scope) -> str:
        client = scope.get("client")
        return str(client[0]) if client else "?"

    @staticmethod
    def _base_url(scope: Scope, headers: dict[str, str]) -> str:
        scheme = scope.get("scheme", "http")
        host = headers.get("host")
        if not host:
            server = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scheme}://{host}{scope.get('root_path', '')}"

    @staticmethod
    def _passage_url(base: str) -> Callable[[Citation], str]:
        def url(c: Citation) -> str:
            return f"{base}/?passage={quote(c.passage_id, safe='')}&quote={quote(c.quote, safe='')}"

        return url

    def _cors(self, origin: str | None) -> dict[str, str]:
        if not origin or not origin_allowed(origin, self.origins):
            return {}
        return {
            "access-control-allow-origin": "*" if self.origins == ["*"] else origin,
            "vary": "Origin",
        }

    async def _plain(
        self, send: Send, status: int, text: str, extra: dict[str, str], preflight: bool = False
    ) -> None:
        headers = dict(extra)
        if preflight and extra:
            headers.update(
                {
                    "access-control-allow-methods": "GET, POST, OPTIONS",
                    "access-control-allow-headers": "Authorization, Content-Type",
                    "access-control-max-age": "600",
                }
            )
        body = text.encode("utf-8")
        if body:
            headers["content-type"] = "text/plain; charset=utf-8"
        await self._send(send, status, body, headers)

    async def _json(self, send: Send, status: int, data: Any, extra: dict[str, str]) -> None:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        await self._send(send, status, body, {**extra, "content-type": "application/json"})

    @staticmethod
    async def _send(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
