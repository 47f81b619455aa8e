"""Building the index: passages into a chromadb collection plus a BM25 index, switched atomically.

Each build goes into a fresh folder (and, with a Chroma server, a fresh collection); the
manifest that names the live build is replaced only once the new build is complete, so a
failed or interrupted build leaves the previous index working.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from filelock import FileLock, Timeout

from drafter.errors import IndexBusyError, IndexMissingError, InputError
from drafter.knowledge.corpus import Corpus, get_corpus, load_manuals
from drafter.state import current

INDEX_FORMAT = 2  # bump when a build's files change; older builds are rebuilt on first use
MANIFEST = "manifest.json"


def index_root() -> Path:
    root = current().state_dir() / "index"
    root.mkdir(parents=True, exist_ok=True)
    return root


LEXICAL_FILES = ("synonyms.yaml", "userdict.txt")  # they change how passages are segmented
# How passage text becomes index terms and vectors (script folding); a change rebuilds.
MATCHING_VERSION = "opencc-t2s-tw2sp"


def content_fingerprint(corpus: Corpus | None = None) -> str:
    """What a build is made from: the manuals (and chunker), the thesaurus, the user dictionary."""
    state = current()

    def compute() -> str:
        h = hashlib.sha256((corpus or get_corpus()).fingerprint.encode())
        h.update(MATCHING_VERSION.encode() + b"\0")
        for name in LEXICAL_FILES:
            path = state.knowledge_dir / name
            h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
        return h.hexdigest()[:16]

    if corpus is not None:
        return compute()
    return state.artefact("index-fingerprint", compute)


def chromadb_version() -> str:

    return version("chromadb")


def chroma_client(build_dir: Path | None):
    """One client per process and location: a Chroma server when DRAFTER_CHROMA_URL is set."""
    import chromadb
    from chromadb.config import Settings

    chroma_settings = Settings(anonymized_telemetry=False)
    url = current().settings.chroma_url
    if url:
        u = urlparse(url if "://" in url else f"http://{url}")
        return chromadb.HttpClient(
            host=u.hostname or "localhost",
            port=u.port or 8000,
            ssl=u.scheme == "https",
            settings=chroma_settings,
        )
    assert build_dir is not None
    return chromadb.PersistentClient(path=str(build_dir / "chroma"), settings=chroma_settings)


@dataclass
class BuildReport:
    built: bool
    build_id: str
    manuals: int
    passages: int
    embedded: int  # passages whose vectors were computed (the rest were reused)
    seconds: float
    messages: list[str] = field(default_factory=list)


def read_manifest() -> dict | None:
    """The live manifest, or None when there is no index yet.

    Raises IndexMissingError when the manifest exists but is unreadable (a damaged index).
    """
    path = index_root() / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or not manifest.get("build"):
            raise ValueError("no build named")
    except (ValueError, OSError):
        raise IndexMissingError(
            f"索引已损坏（{path} 无法读取）：请运行 `drafter index --rebuild` 重建。"
        ) from None
    return manifest


def _lock():

    return FileLock(str(index_root() / ".lock"), timeout=0)


def _reusable_vectors(
    old: dict | None, embedder_name: str, corpus: Corpus
) -> dict[tuple, np.ndarray]:
    """Vectors of the previous build for passages of manuals that did not change."""
    if not old or old.get("embedder") != embedder_name:
        return {}
    if old.get("matching") != MATCHING_VERSION:  # the vectors were of other text
        return {}
    build_dir = index_root() / old["build"]
    try:
        passages = json.loads((build_dir / "passages.json").read_text(encoding="utf-8"))
        vectors = np.load(build_dir / "vectors.npy")
    except (OSError, ValueError):
        return {}
    unchanged = {m.slug for m in corpus.manuals if old.get("manuals", {}).get(m.slug) == m.sha}
    return {
        (p["slug"], p["start"], p["end"], p["text"]): vectors[i]
        for i, p in enumerate(passages)
        if p["slug"] in unchanged and i < len(vectors)
    }


def build_index(
    rebuild: bool = False, manuals_dir: Path | None = None, announce: str = "正在建立索引……"
) -> BuildReport:
    """Index the manuals folder; a no-op when nothing changed (unless ``rebuild``)."""

    from drafter.retrieval.embeddings import get_embedder

    t0 = time.perf_counter()
    current().invalidate()  # a build is asked for now: it reads the files as they are now
    try:
        with _lock():
            return _build_locked(rebuild, manuals_dir, get_embedder(), t0, announce)
    except Timeout:
        raise IndexBusyError(
            "另一个进程正在写入索引，请稍后再试（the index is being built elsewhere）。"
        ) from None


def _build_locked(
    rebuild: bool, manuals_dir: Path | None, embedder, t0: float, announce: str
) -> BuildReport:
    manuals = load_manuals(manuals_dir) if manuals_dir is not None else get_corpus().manuals
    if not manuals:
        raise InputError(
            f"{manuals_dir or current().manuals_dir} 中没有手册（*.md）：请先用 `drafter ingest` 添加。"
        )
    corpus = Corpus(manuals)
    fingerprint = content_fingerprint(corpus)
    try:
        old = read_manifest()
    except IndexMissingError:
        old = None  # damaged: build a new one over it
    version = chromadb_version()
    server = current().settings.chroma_url
    if (
        not rebuild
        and old
        and old.get("format") == INDEX_FORMAT
        and old.get("fingerprint") == fingerprint
        and old.get("embedder") == embedder.name
        and old.get("chromadb") == version
        and old.get("server", "") == server
        and (index_root() / old["build"] / "passages.json").is_file()
    ):
        return BuildReport(
            False,
            old["build"],
            len(manuals),
            old["passages"],
            0,
            time.perf_counter() - t0,
            ["索引已是最新（index up to date）。"],
        )

    build_id = f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**6}"
    build_dir = index_root() / build_id
    current().progress(announce, None)  # only when a build actually happens
    build_dir.mkdir(parents=True)
    try:
        report = _write_build(build_dir, build_id, corpus, embedder, old if not rebuild else None)
        manifest = {
            "format": INDEX_FORMAT,
            "build": build_id,
            "collection": _collection_name(build_id),
            "chromadb": version,
            "embedder": embedder.name,
            "matching": MATCHING_VERSION,
            "dim": int(report.pop("dim")),
            "server": server,
            "fingerprint": fingerprint,
            "manuals": {m.slug: m.sha for m in manuals},
            "titles": {m.slug: m.title for m in manuals},
            "passages": len(corpus.passages),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        tmp = index_root() / f"{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, index_root() / MANIFEST)  # the switch
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise
    _remove_stale_builds(keep=build_id, old=old)
    return BuildReport(
        True,
        build_id,
        len(manuals),
        len(corpus.passages),
        report["embedded"],
        time.perf_counter() - t0,
    )


def _collection_name(build_id: str) -> str:
    return "drafter-" + build_id.removeprefix("build-")


def _write_build(
    build_dir: Path, build_id: str, corpus: Corpus, embedder, old: dict | None
) -> dict:
    from drafter.retrieval.lexical import BM25Index
    from drafter.text.script import for_matching

    passages = corpus.passages
    reuse = _reusable_vectors(old, embedder.name, corpus)
    keys = [(p.slug, p.start, p.end, p.text) for p in passages]
    todo = [i for i, k in enumerate(keys) if k not in reuse]
    fresh = embedder.embed([for_matching(passages[i].text) for i in todo]) if todo else None
    dim = fresh.shape[1] if fresh is not None else len(next(iter(reuse.values())))
    vectors = np.zeros((len(passages), dim), dtype=np.float32)
    if fresh is not None:  # None exactly when nothing is to embed
        for j, i in enumerate(todo):
            vectors[i] = fresh[j]
    for i, k in enumerate(keys):
        if k in reuse:
            vectors[i] = reuse[k]

    client = chroma_client(build_dir)
    collection = client.create_collection(
        name=_collection_name(build_id),
        embedding_function=None,  # vectors are always supplied: chromadb's default never runs
        metadata={"hnsw:space": "cosine", "embedder": embedder.name},
    )
    batch = max(1, min(5000, client.get_max_batch_size()))
    for a in range(0, len(passages), batch):
        part = passages[a : a + batch]
        collection.add(
            ids=[p.passage_id for p in part],
            embeddings=vectors[a : a + batch],
            documents=[p.text for p in part],
            metadatas=[
                {"slug": p.slug, "source": p.source, "start": p.start, "end": p.end} for p in part
            ],
        )
    BM25Index.build_from_texts([for_matching(p.text) for p in passages]).save(build_dir / "bm25")
    np.save(build_dir / "vectors.npy", vectors)
    np.save(build_dir / "idf.npy", bucket_idf(vectors))
    (build_dir / "passages.json").write_text(
        json.dumps([p.__dict__ for p in passages], ensure_ascii=False), encoding="utf-8"
    )
    return {"embedded": len(todo), "dim": dim}


def bucket_idf(vectors: np.ndarray) -> np.ndarray:
    """Inverse document frequency of each vector dimension, for weighting queries.

    Weighting only the query keeps passage vectors independent of corpus statistics, so
    unchanged manuals keep their vectors when another manual changes.
    """
    n = len(vectors)
    df = (vectors != 0).sum(axis=0)
    return np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)


def _remove_stale_builds(keep: str, old: dict | None) -> None:
    """Drop earlier builds (and their server collections); never the live one."""
    for d in index_root().glob("build-*"):
        if d.name != keep and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
    if old and old.get("server") and old["server"] == current().settings.chroma_url:
        with contextlib.suppress(Exception):  # a leftover collection on the server is harmless
            chroma_client(None).delete_collection(old["collection"])


def status() -> dict:
    """What the knowledge tab and `drafter index --status` show."""
    manifest = read_manifest()
    if not manifest:
        return {"built": False, "manuals": 0, "passages": 0, "built_at": None}
    return {
        "built": True,
        "manuals": len(manifest["manuals"]),
        "passages": manifest["passages"],
        "built_at": manifest["built_at"],
        "embedder": manifest["embedder"],
        "chromadb": manifest["chromadb"],
        "server": manifest.get("server") or None,
        "titles": manifest.get("titles", {}),
    }
