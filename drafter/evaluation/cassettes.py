"""Recorded model replies for `drafter eval --engine replay`, and the guard that keeps replay
off the network.

evals/cassettes/ holds one JSON file per request (written by drafter.engines.llm.call's response
cache, named by model and request hash) and ``manifest.json``: per case key (``rewrite/<id>``,
``rewrite/<id>#again``, ``draft/<id>``, ``draft/<id>#<other channel>``) the prompt version,
model, files and input fingerprints it was recorded with. A request with no recording is
``missing`` when the case was never recorded, ``stale`` when it was recorded with another
prompt version or other inputs (the note says which).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from drafter import settings
from drafter.errors import DrafterError

MANIFEST = "manifest.json"
# What a recorded request was made of, as the manifest names it (a change makes it stale).
INPUT_NAMES = {"case": "用例文本", "rules": "规则包", "corpus": "手册", "drafting": "起草用语包"}


class ReplayError(DrafterError):
    """Replay cannot run: no cassettes, or something tried to reach the network."""


class Cassettes:
    """Recorded replies (one JSON file per request hash, written by drafter.engines.llm.call) and a
    manifest: per case key, the prompt version, model and files it was recorded with."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.entries: dict[str, dict] = {}
        self.model: str | None = None
        path = self.directory / MANIFEST
        if path.is_file():
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                self.entries = dict(raw["entries"])
                self.model = raw.get("model")
            except (ValueError, KeyError, TypeError):
                raise ReplayError(
                    f"录制清单 {path} 已损坏：请用 --engine llm --record 重新录制。"
                ) from None

    def status(self, key: str, version: str, inputs: dict[str, str]) -> tuple[str, str]:
        """Why a request of case ``key`` has no recording: ("missing"|"stale", the note)."""
        entry = self.entries.get(key)
        if entry is None:
            return "missing", f"没有录制（no recording for {key}）"
        if entry.get("prompt") != version:
            return "stale", (
                f"录制时的提示词版本是 {entry.get('prompt')}，现在是 {version}"
                "（recorded with an older prompt version）"
            )
        if not entry.get("files"):
            return "missing", "录制时模型调用失败，没有录到回复（the call failed while recording）"
        old = entry.get("inputs") or {}
        changed = [INPUT_NAMES.get(k, k) for k in sorted(inputs) if old.get(k) != inputs[k]]
        what = "、".join(changed) if changed else "请求内容"
        return "stale", f"录制之后{what}有变化（request changed since recording）"

    def model_for(self, key: str) -> str | None:
        return (self.entries.get(key) or {}).get("model") or self.model

    def save(self, recorded: dict[str, dict], staging: Path, model: str) -> None:
        """Merge a recording run: its files, its entries; drop files no entry uses any more."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for f in sorted(staging.glob("*.json")):
            shutil.copyfile(f, self.directory / f.name)
        old_files = {f for e in self.entries.values() for f in e.get("files", [])}
        self.entries.update(recorded)
        self.model = model
        used = {f for e in self.entries.values() for f in e.get("files", [])}
        for name in sorted(old_files - used):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        manifest = {
            "format": 1,
            "model": self.model,
            "entries": {k: self.entries[k] for k in sorted(self.entries)},
        }
        tmp = self.directory / f"{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, self.directory / MANIFEST)


def cassettes_dir() -> Path:
    return settings.evals_dir() / "cassettes"


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Refuse every outgoing connection (replay must never reach the network)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(self: socket.socket, address: Any, *args: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None):
            return real_connect(self, address, *args)
        raise ReplayError(f"回放模式不允许网络连接（replay tried to connect to {address!r}）。")

    def refuse_ex(self: socket.socket, address: Any) -> Any:
        if self.family == getattr(socket, "AF_UNIX", None):
            return real_connect_ex(self, address)
        raise ReplayError(f"回放模式不允许网络连接（replay tried to connect to {address!r}）。")

    # typeshed types these as methods that cannot be assigned; replacing them is the point.
    patched = cast(Any, socket.socket)
    patched.connect, patched.connect_ex = refuse, refuse_ex
    try:
        yield
    finally:
        patched.connect, patched.connect_ex = real_connect, real_connect_ex
