"""The login in front of every route, when DRAFTER_AUTH is set.

Gradio checks its login on most of its routes, but not on all (``/gradio_api/cancel``,
``/gradio_api/reset``, the heartbeat, the MCP server it mounts, ...): a gate outside the app
lets a request in only when it is logged in (gradio's session cookie, or HTTP Basic with a
DRAFTER_AUTH user, as MCP clients send it), or asks for what the login page itself needs.
The LanguageTool API (``/v2/``) has its own login (Basic or ``username``/``apiKey``).
"""

from __future__ import annotations

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

Tokens = Callable[[], tuple[str, dict]]
"""(gradio's cookie id, its tokens → user map), read at each request (a login adds a token)."""


class LoginGate:
    """ASGI middleware: 401 for any request that is neither logged in nor for the login page."""

    def __init__(self, app, users: list[tuple[str, str]], tokens: Tokens) -> None:
        self.app = app
        self.users = [(u.encode(), p.encode()) for u, p in users]
        self.tokens = tokens

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
        if self.public(method, path) or self._logged_in(dict(scope.get("headers") or [])):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"detail": "Not authenticated"}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Basic realm="drafter", charset="UTF-8"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
