"""Serving the app: login, the MCP login gate, upload and queue limits, offline theme.

``launch()`` starts a ``build_app()`` page with the app's safety settings: analytics and
monitoring off, system fonts only (nothing fetched from elsewhere), an optional login from
DRAFTER_AUTH covering every route (gradio's own and the MCP server's), an upload size limit,
a bounded queue with concurrency limits, no share link.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from drafter.core import Drafter
from drafter.errors import DrafterError
from drafter.state import current
from drafter.web import handlers as h
from drafter.web.app import SAMPLE_DRAFT, SAMPLE_MESSAGE

CSS_PATH = Path(__file__).resolve().parent / "static" / "app.css"
MAX_FILE_SIZE = h.MAX_UPLOAD_BYTES
QUEUE_MAX_SIZE = 128  # events waiting; beyond it a user is told the queue is full
CONCURRENCY = 8  # events of one kind running at once (the offline engine takes milliseconds)
# Page sessions whose state gradio keeps in memory (a rewrite and its decisions each); the
# oldest beyond this are dropped (gradio's default is 10,000). API calls keep none (api.py).
SESSION_CAPACITY = 2000

# System fonts only: nothing is fetched from a font service, so the page renders offline.
SANS = [
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Helvetica Neue",
    "Arial",
    "sans-serif",
]
MONO = [
    "SFMono-Regular",
    "Menlo",
    "Consolas",
    "Noto Sans Mono CJK SC",
    "DejaVu Sans Mono",
    "monospace",
]


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=SANS, font_mono=MONO, primary_hue="blue")


def auth_from_env() -> list[tuple[str, str]] | None:
    """DRAFTER_AUTH=user:password[,user:password...] as gradio's auth list; None when empty."""
    raw = current().settings.auth.strip()
    if not raw:
        return None
    pairs = []
    for item in raw.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise DrafterError(
                "DRAFTER_AUTH 格式应为 user:password[,user:password...]，且用户名和密码都不能为空。"
            )
        pairs.append((user.strip(), password))
    return pairs


def warm_up(drafter: Drafter) -> None:
    """Load the rule pack, the tokenizer, the drafting pack and the index before the first user."""

    drafter.rewrite(SAMPLE_DRAFT, engine="offline")
    try:
        drafter.search(SAMPLE_DRAFT, k=1, restate=False)
    except DrafterError as err:  # search shows the same message; rewriting works without it
        h.log.warning("index not ready: %s", err)
    drafter.draft(SAMPLE_MESSAGE, "chat", "offline")


def _log_mcp_loopback_in(app: gr.Blocks, url: str, user: tuple[str, str]) -> None:
    """Gradio's MCP server calls queued endpoints through a gradio_client of its own, which
    has no credentials: hand it one that is logged in (gradio<7: ``_client_instance``)."""
    from gradio_client import Client

    server = getattr(app, "mcp_server_obj", None)
    if server is None or not hasattr(server, "_client_instance"):
        raise DrafterError(
            "这个 gradio 版本不支持带登录的 MCP 服务：请去掉 DRAFTER_AUTH 或 --mcp 之一。"
        )
    server._client_instance = Client(
        url,
        auth=user,
        download_files=False,
        verbose=False,
        analytics_enabled=False,
        _skip_components=False,
        headers={"x-gradio-user": "mcp"},
    )


def lt_origins() -> list[str]:
    """DRAFTER_LT_ORIGINS as a list of origins (patterns allowed: chrome-extension://*)."""
    return [o.strip().rstrip("/") for o in current().settings.lt_origins.split(",") if o.strip()]


def serve_languagetool(
    app: gr.Blocks, drafter: Drafter, auth: list[tuple[str, str]] | None
) -> None:
    """Put the LanguageTool API (``/v2/…``) in front of the served app.

    Gradio wraps its app in a CORS middleware of its own, outermost, which answers every
    preflight itself (allowing only localhost pages); the API has its own allowed origins, so it
    must see its requests first: it wraps the app's built middleware stack (Starlette calls
    ``middleware_stack`` for every request)."""
    from drafter.web.languagetool import LanguageToolAPI

    server = app.server_app
    inner = server.middleware_stack or server.build_middleware_stack()
    server.middleware_stack = LanguageToolAPI(
        inner,
        drafter,
        users=auth,
        origins=lt_origins(),
        rate_per_minute=current().settings.lt_rate,
    )


def guard(app: gr.Blocks, auth: list[tuple[str, str]]) -> None:
    """The login in front of every route (gradio leaves some open, and the MCP server)."""
    from drafter.web.gate import LoginGate

    server = app.server_app
    inner = server.middleware_stack or server.build_middleware_stack()
    server.middleware_stack = LoginGate(inner, auth, lambda: (str(server.cookie_id), server.tokens))


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    mcp: bool = False,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
    drafter: Drafter | None = None,
):
    """Start the server with the app's safety settings; returns gradio's (app, local_url, _).

    The LanguageTool API (``/v2/check``, ``/v2/languages``) is served beside the page, over
    ``drafter`` (the default one when None)."""
    from drafter.web.connections import raise_descriptor_limit, serving_limits

    auth = auth_from_env()
    settings = current().settings
    app.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY, api_open=False)
    raise_descriptor_limit()
    with serving_limits(settings.max_connections_per_client, settings.header_timeout):
        result = _launch(app, host, port, auth, mcp=mcp, quiet=quiet)
    if mcp and auth:
        _log_mcp_loopback_in(app, result[1], auth[0])
    serve_languagetool(app, drafter if drafter is not None else Drafter.default(), auth)
    if auth:
        guard(app, auth)
    if not prevent_thread_lock:
        app.block_thread()
    return result


def _launch(app: gr.Blocks, host: str, port: int, auth, *, mcp: bool, quiet: bool):
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=auth,
        auth_message="回复助手：请登录。" if auth else None,
        max_file_size=MAX_FILE_SIZE,
        enable_monitoring=False,
        mcp_server=mcp,
        ssr_mode=False,
        pwa=False,
        run_history=False,
        show_error=False,
        footer_links=["api"],
        prevent_thread_lock=True,
        quiet=quiet,
        theme=theme(),
        css_paths=[CSS_PATH],
        state_session_capacity=SESSION_CAPACITY,
    )
