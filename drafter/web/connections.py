"""Connection limits of the served app: one client cannot hold every connection.

uvicorn (under gradio) accepts every connection and waits for its request without a time
limit: a client that opens a thousand connections and sends nothing uses up the process's
file descriptors (1,024 on many machines) and nobody else gets in. Its protocol class is
wrapped here so that:

- a client (a remote address) holds at most DRAFTER_MAX_CONNECTIONS_PER_CLIENT connections;
  more are closed as they are accepted (0 = no cap: behind a reverse proxy every connection
  comes from the proxy, which should then cap per client itself);
- a connection must send a complete request head within DRAFTER_HEADER_TIMEOUT seconds of
  being opened, or of its last response (slow or idle connections are closed); a request
  being answered (a streamed reply) is never cut;
- an idle kept-alive connection is closed after uvicorn's keep-alive timeout.

``serving_limits()`` patches the uvicorn ``Config`` that gradio builds in ``launch()`` for the
duration of that call only.
"""

from __future__ import annotations

import contextlib
import resource
import threading
from collections.abc import Iterator
from typing import Any

KEEP_ALIVE_S = 5  # uvicorn's own default, kept explicit


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_client: dict[str, int] = {}

    def take(self, client: str, cap: int) -> bool:
        with self.lock:
            n = self.by_client.get(client, 0)
            if cap and n >= cap:
                return False
            self.by_client[client] = n + 1
            return True

    def give_back(self, client: str) -> None:
        with self.lock:
            n = self.by_client.get(client, 0) - 1
            if n > 0:
                self.by_client[client] = n
            else:
                self.by_client.pop(client, None)


def guarded(base: type, per_client: int, header_timeout: float, counts: _Counts) -> type:
    """A subclass of uvicorn's HTTP protocol class ``base`` with the limits above."""

    class Guarded(base):
        _peer: str | None = None
        _refused = False
        _head_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            peer = transport.get_extra_info("peername")
            self._peer = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            if not counts.take(self._peer, per_client):
                self._refused = True
                transport.abort()  # at once: no fd held for a client over its share
                return
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            self._disarm()
            counts.give_back(self._peer or "?")
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._waiting_for_head():
                if self._head_timer is None:
                    self._arm()
            else:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        # ---------------------------------------------------------------- the head deadline

        def _waiting_for_head(self) -> bool:
            cycle = getattr(self, "cycle", None)
            return cycle is None or bool(getattr(cycle, "response_complete", False))

        def _arm(self) -> None:
            self._disarm()
            loop = getattr(self, "loop", None)
            if loop is not None and header_timeout > 0:
                self._head_timer = loop.call_later(header_timeout, self._head_late)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            self._head_timer = None
            transport = getattr(self, "transport", None)
            if self._waiting_for_head() and transport is not None and not transport.is_closing():
                transport.close()

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


def raise_descriptor_limit() -> tuple[int, int]:
    """The soft limit of open files raised to the hard one (1,024 is a common default soft
    limit); returns (soft, hard) as they are now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


@contextlib.contextmanager
def serving_limits(per_client: int, header_timeout: float) -> Iterator[None]:
    """While gradio's ``launch()`` runs: its uvicorn Config wraps the HTTP protocol class."""
    import gradio.http_server as gradio_http
    import uvicorn

    counts = _Counts()
    original = gradio_http.uvicorn.Config

    class LimitedConfig(uvicorn.Config):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("timeout_keep_alive", KEEP_ALIVE_S)
            super().__init__(*args, **kwargs)

        def load(self) -> None:
            super().load()
            base = self.http_protocol_class
            if not getattr(base, "_drafter_guarded", False):
                cls = guarded(base, per_client, header_timeout, counts)
                cls._drafter_guarded = True  # type: ignore[attr-defined]
                self.http_protocol_class = cls

    gradio_http.uvicorn.Config = LimitedConfig  # type: ignore[misc]
    try:
        yield
    finally:
        gradio_http.uvicorn.Config = original  # type: ignore[misc]
