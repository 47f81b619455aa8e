"""One home for state: settings, the state folder, the knowledge location and loaded artefacts.

A `State` holds every artefact loaded from the knowledge files (corpus, rule pack, drafting
pack, cleaning rules, segmenter, thesaurus, prompts, the open index) under **one** freshness
policy: a cheap fingerprint of the knowledge files (name, size, mtime of each), looked at again
at most every ``RECHECK_SECONDS``; when it changes every artefact is loaded anew. Artefacts
built from identical files are shared between states of one process (tests and the eval
harness make many states; jieba's dictionary is loaded once).

Library code reaches the active state with `current()`: the state a `Drafter` made active
for the call, else the default state of the process environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from drafter import settings as settings_mod
from drafter.errors import StateError
from drafter.settings import Settings

T = TypeVar("T")

RECHECK_SECONDS = 2.0
# The files of a knowledge folder that artefacts are built from.
KNOWLEDGE_FILES = (
    "drafting.yaml",
    "synonyms.yaml",
    "userdict.txt",
    "cleaning.yaml",
    "speech.yaml",
    "guard.yaml",
    "analysis.yaml",
    "privacy.yaml",
)
KNOWLEDGE_GLOBS = ("manuals/*.md", "rules/*.yaml", "rules/*.yml")

Progress = Callable[[str, float | None], None]
"""A progress callback: (what is happening, fraction done or None)."""


def no_progress(_message: str, _fraction: float | None = None) -> None:
    return None


class _Shared:
    """Artefacts keyed by (name, fingerprint), shared by the states of one process; bounded."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: tuple[str, str], value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_SHARED = _Shared()


class State:
    """Settings, locations and the loaded artefacts of one drafter instance."""

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.progress: Progress = progress or no_progress
        self._lock = threading.RLock()
        self._fingerprint: tuple[float, str] | None = None
        self._local: dict[str, tuple[str, Any]] = {}
        self._resources: dict[str, tuple[str, Any]] = {}
        self._retired: dict[str, Any] = {}

    # ------------------------------------------------------------------ locations

    @property
    def home(self) -> Path:
        return self.settings.home_dir

    def state_dir(self, *parts: str) -> Path:
        """A folder under DRAFTER_HOME, created on demand; one sentence when it cannot be."""
        path = self.home.joinpath(*parts)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StateError(
                f"无法在状态文件夹 {self.home} 中创建 {path.name or path}（{err.strerror or err}）："
                "请把 DRAFTER_HOME 设为可写的文件夹。"
            ) from None
        if not os.access(path, os.W_OK):
            raise StateError(f"状态文件夹 {path} 不可写：请把 DRAFTER_HOME 设为可写的文件夹。")
        return path

    @property
    def knowledge_dir(self) -> Path:
        """Where the manuals, rules and phrases are read from."""
        if self.settings.knowledge is not None:
            return self.settings.knowledge
        own = self.home / "knowledge"
        if (own / "manuals").is_dir():
            return own
        return settings_mod.bundled_knowledge_dir()

    def writable_knowledge_dir(self) -> Path:
        """Where a knowledge owner's manuals go: DRAFTER_KNOWLEDGE, else DRAFTER_HOME/knowledge.

        The latter is seeded from the bundled (read-only) knowledge on first write, so what the
        owner adds sits beside the bundled manuals and rules; nothing is written into the package.
        """
        if self.settings.knowledge is not None:
            return self.settings.knowledge
        own = self.home / "knowledge"
        if not (own / "manuals").is_dir():
            self.state_dir()
            tmp = self.home / f".knowledge-seed-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                shutil.copytree(settings_mod.bundled_knowledge_dir(), tmp)
                if not (own / "manuals").is_dir():
                    shutil.rmtree(own, ignore_errors=True)
                    os.replace(tmp, own)
            except OSError as err:
                raise StateError(f"无法在 {self.home} 中准备知识库文件夹（{err}）。") from None
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            self.invalidate()
        return own

    @property
    def manuals_dir(self) -> Path:
        return self.knowledge_dir / "manuals"

    @property
    def rules_dir(self) -> Path:
        return self.knowledge_dir / "rules"

    @property
    def prompts_dir(self) -> Path:
        return settings_mod.prompts_dir()

    # ------------------------------------------------------------------ freshness

    def knowledge_files(self) -> list[Path]:
        root = self.knowledge_dir
        files = [root / name for name in KNOWLEDGE_FILES if (root / name).is_file()]
        for pattern in KNOWLEDGE_GLOBS:
            files.extend(sorted(root.glob(pattern)))
        files.extend(sorted(self.prompts_dir.glob("*.md")))
        return files

    def fingerprint(self) -> str:
        """A cheap fingerprint of every knowledge file; recomputed at most every few seconds."""
        now = time.monotonic()
        with self._lock:
            if self._fingerprint is not None and now - self._fingerprint[0] < RECHECK_SECONDS:
                return self._fingerprint[1]
            h = hashlib.sha256(str(self.knowledge_dir).encode())
            for path in self.knowledge_files():
                try:
                    st = path.stat()
                except OSError:
                    continue
                h.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            value = h.hexdigest()[:16]
            self._fingerprint = (now, value)
            return value

    def invalidate(self) -> None:
        """Look at the files again on the next access (after this process changed them)."""
        with self._lock:
            self._fingerprint = None

    def artefact(self, name: str, build: Callable[[], T]) -> T:
        """The artefact ``name``, built by ``build`` from the current knowledge files."""
        fp = self.fingerprint()
        hit = self._local.get(name)
        if hit is not None and hit[0] == fp:
            return hit[1]
        with self._lock:
            hit = self._local.get(name)
            if hit is not None and hit[0] == fp:
                return hit[1]
            value = _SHARED.get((name, fp))
            if value is None:
                value = build()
                _SHARED.put((name, fp), value)
            self._local[name] = (fp, value)
            return value

    def keyed(self, name: str, key: str, build: Callable[[], T]) -> T:
        """A resource of this state (not of the knowledge files) rebuilt when ``key`` changes.

        The replaced resource is closed (its ``close()``, when it has one) at the next
        replacement, not at once: a call of another thread may still be using it."""
        with self._lock:
            hit = self._resources.get(name)
            if hit is not None and hit[0] == key:
                return hit[1]
            value = build()
            self._resources[name] = (key, value)
            if hit is not None:
                _close(self._retired.pop(name, None))
                self._retired[name] = hit[1]
            return value

    # ------------------------------------------------------------------ activation

    @contextlib.contextmanager
    def active(self) -> Iterator[State]:
        """Make this the state library code sees (`current()`) for the duration."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def _close(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # it is being let go: nothing to report
            close()


_current: ContextVar[State | None] = ContextVar("drafter_state", default=None)
_default_lock = threading.Lock()
_default: tuple[tuple[str, ...], State] | None = None


def default() -> State:
    """The process's state for the current environment (a new one when a setting changes)."""
    global _default
    key = settings_mod.environment_key()
    hit = _default
    if hit is not None and hit[0] == key:
        return hit[1]
    with _default_lock:
        if _default is None or _default[0] != key:
            _default = (key, State(Settings.from_env()))
        return _default[1]


def current() -> State:
    """The active state: the one a Drafter made active for this call, else the default."""
    return _current.get() or default()
