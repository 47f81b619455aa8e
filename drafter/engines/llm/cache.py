"""The response cache: one JSON file per request, keyed by model and prompt hash.

On when DRAFTER_LLM_CACHE=1 or when the caller asks (evals); ``cache_dir`` points it
elsewhere (the eval harness keeps its recordings in evals/cassettes), and replay mode
answers from it alone, never from the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from drafter.state import current


def prompt_hash(messages: list[dict], schema: dict, name: str) -> str:
    blob = json.dumps(
        {"messages": messages, "schema": schema, "name": name}, ensure_ascii=False, sort_keys=True
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_key(model: str, messages: list[dict], schema: dict, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model)[:60] or "model"
    return f"{safe}-{prompt_hash(messages, schema, name)[:32]}"


class ResponseCache:
    """Replies stored as one JSON file per key (the eval harness keeps them as cassettes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(record, dict) and isinstance(record.get("content"), str)
        return record if ok else None

    def put(self, key: str, record: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, target)


def default_cache_dir() -> Path:
    return current().state_dir() / "llm-cache"


def for_call(cache: bool | None, cache_dir: Path | None, replay: bool) -> ResponseCache | None:
    """The cache a call uses: ``cache_dir``, else DRAFTER_HOME/llm-cache when on, else none."""
    if cache_dir is not None:
        return ResponseCache(Path(cache_dir))
    if replay or cache or (cache is None and current().settings.llm_cache):
        return ResponseCache(default_cache_dir())
    return None
