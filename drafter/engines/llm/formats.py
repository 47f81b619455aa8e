"""The reply format each endpoint takes, remembered in DRAFTER_HOME.

The format ladder (json_schema → json_object → plain text) is climbed down when an endpoint
refuses a format; what worked is written to ``DRAFTER_HOME/llm-formats.json`` per base URL and
model, so later calls — in this process or the next — start on the rung that works and make
one request. Failing to read or write the file costs only the extra request.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from drafter.engines.llm import config
from drafter.errors import StateError
from drafter.state import current

FILE = "llm-formats.json"
_lock = threading.Lock()


def _key(cfg: config.LLMConfig) -> str:
    return f"{cfg.base_url or 'https://api.openai.com/v1'} {cfg.model}"


def _path() -> Path | None:
    try:
        return current().state_dir() / FILE
    except StateError:
        return None


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def remembered(cfg: config.LLMConfig, modes: tuple[str, ...]) -> int:
    """The rung to start on for this endpoint and model (0 when nothing is known)."""
    path = _path()
    if path is None:
        return 0
    mode = _read(path).get(_key(cfg))
    return modes.index(mode) if mode in modes else 0


def remember(cfg: config.LLMConfig, mode: str) -> None:
    """Note that ``mode`` works for this endpoint and model."""
    path = _path()
    if path is None:
        return
    with _lock:
        known = _read(path)
        if known.get(_key(cfg)) == mode:
            return
        known[_key(cfg)] = mode
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".llm-formats-")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(known, out, ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except OSError:
            pass  # read-only home: the next call climbs down again
