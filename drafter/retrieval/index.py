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
# A build replaced by a newer one stays this long: a process that read the old manifest a
# moment before the switch is still opening it (a reader retries with the new manifest when
# it meets a build that is gone, but one being deleted under it fails half way).
RETAIN_SECONDS = 120.0
RETAIN_BUILDS = 2  # ... and at most this many replaced builds stay (each is a copy of the index)
SUPERSEDED = ".superseded"  # in a build's folder: since when it is no longer the live one
COMPLETE = "passages.json"  # a build's last file: without it, the build never finished


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
            f"索引已损坏（{path} 无法读取）：请运行 `drafter index` 修复。"
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
    except (OSError, ValueError, EOFError):
        return {}
    if vectors.ndim != 2 or len(vectors) != len(passages):
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
    _remove_stale_builds(keep=old["build"] if old else None)
    damage = damaged(old) if old else None
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
        and damage is None
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
    if damage is not None and not rebuild:
        announce = f"索引已损坏（{damage}），正在重建……"
    current().progress(announce, None)  # only when a build actually happens
    build_dir.mkdir(parents=True)
    try:
        # Vectors are reused only from a sound build (a damaged one may have torn vectors).
        reuse = old if not rebuild and damage is None else None
        report = _write_build(build_dir, build_id, corpus, embedder, reuse)
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
        [f"原索引已损坏（{damage}），已重建。"] if damage is not None else [],
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
    if hasattr(client, "close"):  # a long-running process builds many times: free its files
        client.close()
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


def _remove_stale_builds(keep: str | None, old: dict | None = None) -> None:
    """Drop builds that are no longer needed (the caller holds the build lock); never the live
    one. Unfinished builds (a build killed half way) go at once; a build that was live goes
    ``RETAIN_SECONDS`` after it was replaced, so that readers opening it a moment before the
    switch can finish. With a Chroma server, the replaced build's collection goes at once."""
    now = time.time()
    replaced: list[tuple[float, Path]] = []
    for d in index_root().glob("build-*"):
        if d.name == keep or not d.is_dir():
            continue
        marker = d / SUPERSEDED
        if not (d / COMPLETE).is_file():
            shutil.rmtree(d, ignore_errors=True)
            continue
        if not marker.is_file():
            with contextlib.suppress(OSError):
                marker.write_text(str(now), encoding="utf-8")
        try:
            replaced.append((marker.stat().st_mtime, d))
        except OSError:
            replaced.append((now, d))
    replaced.sort(reverse=True)  # the most recently replaced first
    for i, (since, d) in enumerate(replaced):
        if i >= RETAIN_BUILDS or now - since > RETAIN_SECONDS:
            shutil.rmtree(d, ignore_errors=True)
    if old and old.get("server") and old["server"] == current().settings.chroma_url:
        with contextlib.suppress(Exception):  # a leftover collection on the server is harmless
            chroma_client(None).delete_collection(old["collection"])


_DAMAGE_SEEN: dict[tuple, tuple[tuple, str | None]] = {}


def damaged(manifest: dict) -> str | None:
    """What is wrong with the live build's files, in a few words; None when nothing is.

    Every file a search reads is read back and checked against the manifest (passage count,
    vector rows, the collection's size); a Chroma server's collection is counted there. The
    verdict is kept while no file of the build changes (name, size, mtime): the knowledge tab
    asks on every page load, and a large index's files take seconds to read back."""
    build_dir = index_root() / str(manifest.get("build"))
    if not build_dir.is_dir():
        return f"缺少构建文件夹 {build_dir.name}"
    key = (str(build_dir), manifest.get("passages"), manifest.get("server"))
    if key in _DAMAGE_SEEN and _DAMAGE_SEEN[key][0] == _signature(build_dir):
        return _DAMAGE_SEEN[key][1]
    verdict = _read_back(build_dir, manifest)
    if len(_DAMAGE_SEEN) > 16:
        _DAMAGE_SEEN.clear()
    # The files as the read-back left them (opening the collection writes to its database).
    _DAMAGE_SEEN[key] = (_signature(build_dir), verdict)
    return verdict


def _signature(build_dir: Path) -> tuple:
    """The build's files as they are: name, size and mtime of each."""
    out = []
    for path in sorted(build_dir.rglob("*")):
        with contextlib.suppress(OSError):
            st = path.stat()
            out.append((str(path.relative_to(build_dir)), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _read_back(build_dir: Path, manifest: dict) -> str | None:
    from drafter.retrieval.lexical import BM25Index

    n = manifest.get("passages")
    try:
        raw = json.loads((build_dir / COMPLETE).read_text(encoding="utf-8"))
        if not isinstance(raw, list) or len(raw) != n:
            return "段落文件与清单不符"
    except (OSError, ValueError):
        return "段落文件缺失或无法读取"
    try:
        vectors = np.load(build_dir / "vectors.npy", mmap_mode="r")  # its shape, not its data
        if vectors.ndim != 2 or len(vectors) != n:
            return "向量文件与段落数不符"
        idf = np.load(build_dir / "idf.npy")
        if idf.shape != (vectors.shape[1],):
            return "向量权重文件与向量维度不符"
    except (OSError, ValueError, EOFError):
        return "向量文件缺失或无法读取"
    try:
        bm25 = BM25Index.load(build_dir / "bm25")
        if (
            bm25.n_docs != n
            or len(bm25.indptr) != len(bm25.vocab) + 1
            or not len(bm25.docs) == len(bm25.weights) == int(bm25.indptr[-1])
        ):
            return "关键词索引与段落数不符"
    except (OSError, ValueError, KeyError, EOFError):
        return "关键词索引缺失或无法读取"
    if not manifest.get("server") and not (build_dir / "chroma" / "chroma.sqlite3").is_file():
        return "向量库文件缺失"
    client = None
    try:
        client = chroma_client(build_dir)
        count = client.get_collection(manifest["collection"], embedding_function=None).count()
    except Exception as err:  # noqa: BLE001 - any failure to read it is damage
        return f"向量库无法读取：{type(err).__name__}"
    finally:
        if client is not None and hasattr(client, "close"):
            with contextlib.suppress(Exception):
                client.close()
    if count != n:
        return f"向量库有 {count} 条，清单记 {n} 条"
    return None


def status() -> dict:
    """What the knowledge tab and `drafter index --status` show."""
    try:
        manifest = read_manifest()
    except IndexMissingError as err:
        return {"built": False, "manuals": 0, "passages": 0, "built_at": None, "damage": str(err)}
    if not manifest:
        return {"built": False, "manuals": 0, "passages": 0, "built_at": None, "damage": None}
    return {
        "built": True,
        "damage": damaged(manifest),
        "manuals": len(manifest["manuals"]),
        "passages": manifest["passages"],
        "built_at": manifest["built_at"],
        "embedder": manifest["embedder"],
        "chromadb": manifest["chromadb"],
        "server": manifest.get("server") or None,
        "titles": manifest.get("titles", {}),
    }
