"""Starting the app as `drafter serve` does, on a free loopback port, for the tests."""

from __future__ import annotations

import socket

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*, auth: str | None = None, mcp: bool = False, env: dict[str, str] | None = None):
    """build_app() + launch() as `drafter serve` does (its settings read once, at start), on a
    free loopback port; returns (app, url)."""
    from drafter.core import Drafter
    from drafter.web.app import build_app
    from drafter.web.server import launch

    with pytest.MonkeyPatch.context() as mp:
        if auth is None:
            mp.delenv("DRAFTER_AUTH", raising=False)
        else:
            mp.setenv("DRAFTER_AUTH", auth)
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        drafter = Drafter()
        app = build_app(drafter)
        _, url, _ = launch(
            app,
            "127.0.0.1",
            free_port(),
            mcp=mcp,
            prevent_thread_lock=True,
            quiet=True,
            drafter=drafter,
        )
    return app, url
