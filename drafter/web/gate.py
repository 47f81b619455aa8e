"""The login in front of every route, when DRAFTER_AUTH is set.

Gradio checks its login on most of its routes, but not on all (``/gradio_api/cancel``,
``/gradio_api/reset``, the heartbeat, the MCP server it mounts, ...): a gate outside the app
lets a request in only when it is logged in (gradio's session cookie, or HTTP Basic with a
DRAFTER_AUTH user, as MCP clients send it), or asks for what the login page itself needs.
The LanguageTool API (``/v2/``) has its own login (Basic or ``username``/``apiKey``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from drafter.web import credentials

# What a browser that is not logged in may fetch: the login page and what it is made of.
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/login",
        "/login/",
        "/logout",
        "/favicon.ico",
        "/robots.txt",
        "/manifest.json",
        "/theme.css",
        "/gradio_api/theme.css",
        "/gradio_api/login_check",
        "/gradio_api/login_check/",
        "/gradio_api/app_id",
        "/gradio_api/app_id/",
    }
)
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/gradio_api/assets/", "/v2/")

LOGIN_PATHS = ("/login", "/login/")
# Wrong passwords from one address: after FAILURES within WINDOW_S seconds, logins from it
# are refused for LOCK_S seconds (a guess every few seconds at most, not 30 in half a second).
FAILURES = 5
WINDOW_S = 300.0
LOCK_S = 60.0

Tokens = Callable[[], tuple[str, dict]]
"""(gradio's cookie id, its tokens → user map), read at each request (a login adds a token)."""


class LoginGate:
    """ASGI middleware: 401 for any request that is neither logged in nor for the login page."""

    def __init__(self, app, users: list[tuple[str, str]], tokens: Tokens) -> None:
        self.app = app
        self.users = [(u.encode(), p.encode()) for u, p in users]
        self.tokens = tokens
        self._failed: dict[str, list[float]] = {}
        self._locked: dict[str, float] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ login throttling

    def _wait(self, client: str) -> float:
        """Seconds before ``client`` may try to log in again (0: now)."""
        with self._lock:
            until = self._locked.get(client, 0.0)
            left = until - time.monotonic()
            if left <= 0 and client in self._locked:
                del self._locked[client]
            return max(0.0, left)

    def _outcome(self, client: str, status: int) -> None:
        now = time.monotonic()
        with self._lock:
            if status < 400:
                self._failed.pop(client, None)
                return
            recent = [t for t in self._failed.get(client, []) if now - t < WINDOW_S]
            recent.append(now)
            if len(recent) >= FAILURES:
                self._locked[client] = now + LOCK_S
                recent = []
            self._failed[client] = recent
            if len(self._failed) > 10_000:  # bounded: the oldest addresses go
                for key in list(self._failed)[:1000]:
                    self._failed.pop(key, None)

    async def _login(self, scope, receive, send) -> None:
        client = (scope.get("client") or ("?", 0))[0]
        wait = self._wait(client)
        if wait > 0:
            seconds = int(wait) + 1
            await _refuse(
                send,
                429,
                {"detail": f"登录失败次数过多，请 {seconds} 秒后再试。"},
                [(b"retry-after", str(seconds).encode())],
            )
            return
        status = [200]

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        self._outcome(client, status[0])

    def _logged_in(self, headers: dict[bytes, bytes]) -> bool:
        given = credentials.basic(headers.get(b"authorization", b""))
        if given is not None and credentials.known(self.users, *given):
            return True
        raw = headers.get(b"cookie", b"").decode("latin-1")
        if not raw:
            return False
        try:
            cookies = SimpleCookie(raw)
        except CookieError:
            return False
        cookie_id, tokens = self.tokens()
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
            morsel = cookies.get(name)
            if morsel is not None and morsel.value in tokens:
                return True
        return False

    @staticmethod
    def public(method: str, path: str) -> bool:
        if path.startswith(PUBLIC_PREFIXES):
            return True
        if method == "POST":
            return path in ("/login", "/login/")
        return method in ("GET", "HEAD") and path in PUBLIC_PATHS

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if scope["type"] == "http" and method == "POST" and path in LOGIN_PATHS:
            await self._login(scope, receive, send)
            return
        if self.public(method, path) or self._logged_in(dict(scope.get("headers") or [])):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _refuse(
            send,
            401,
            {"detail": "Not authenticated"},
            [(b"www-authenticate", b'Basic realm="drafter", charset="UTF-8"')],
        )


async def _refuse(send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
