"""Hybrid retrieval: chromadb vectors and BM25 terms, fused by reciprocal rank."""

from __future__ import annotations

import json
from functools import partial

import numpy as np

from drafter.errors import DrafterError, IndexMissingError, InputError
from drafter.retrieval import index as index_mod
from drafter.state import current
from drafter.text import segment as tokenize
from drafter.types import Passage

# Reciprocal rank fusion. Offline, the lexical arm (BM25 with the thesaurus) is the stronger
# ranker and hashed n-gram vectors a weaker one, so the vector arm gets a lower weight; a
# small k keeps the difference between the first ranks. Measured on
# evals/datasets/retrieval.jsonl (see README): hit@5 0.85 lexical alone, 0.925 fused.
RRF_K = 10
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 0.2
# With the query-rewriting arm (an LLM, when configured), each restatement of the question in
# the manuals' terms ranks the passages too, and the agent's own words count half: the arm
# exists because those words match the manuals poorly (a passage at the top of one
# restatement then outranks the middling passages of the colloquial question).
EXPANSION_WEIGHT = 1.0
QUESTION_WEIGHT_WITH_EXPANSION = 0.5
CANDIDATES = 30
READ_ATTEMPTS = 5  # opening the live build, when other processes switch builds meanwhile


class OpenIndex:
    """A live build opened for queries: passages, BM25 and the chromadb collection."""

    def __init__(self, manifest: dict):
        from drafter.retrieval.embeddings import get_embedder
        from drafter.retrieval.lexical import BM25Index

        self.manifest = manifest
        build_dir = index_mod.index_root() / manifest["build"]
        try:
            raw = json.loads((build_dir / "passages.json").read_text(encoding="utf-8"))
            self.passages = [Passage(**p) for p in raw]
            self.bm25 = BM25Index.load(build_dir / "bm25")
            idf_path = build_dir / "idf.npy"
            self.idf = np.load(idf_path) ** 2 if idf_path.is_file() else None
            self.client = index_mod.chroma_client(build_dir)
            self.collection = self.client.get_collection(
                manifest["collection"], embedding_function=None
            )
        except Exception as err:  # noqa: BLE001 - any damage means: rebuild
            self.close()
            raise IndexMissingError(
                "索引不完整或已损坏：请运行 `drafter index` 修复"
                f"（`drafter index --status` 说明哪里坏了；{type(err).__name__}）。"
            ) from None
        self.embedder = get_embedder()
        self.position = {p.passage_id: i for i, p in enumerate(self.passages)}
        self.warning: str | None = None  # why the last search was lexical only, if it was

    def close(self) -> None:
        """Let go of the build's files (chromadb keeps a system per folder until closed)."""
        client = self.__dict__.pop("client", None)
        if client is not None and hasattr(client, "close"):
            client.close()

    def search(self, query: str, k: int, also: tuple[str, ...] = ()) -> list[Passage]:
        """The ``k`` best passages for ``query``; each of ``also`` (the question restated by
        the query-rewriting arm) ranks them too (rank fusion, EXPANSION_WEIGHT)."""
        n = min(max(CANDIDATES, k * 3), len(self.passages))
        if n == 0:
            return []
        fused: dict[int, float] = {}
        self.warning = None
        own = QUESTION_WEIGHT_WITH_EXPANSION if also else 1.0
        for q, weight in [(query, own), *((a, EXPANSION_WEIGHT) for a in also)]:
            for rank, (doc, _score) in enumerate(self.bm25.top(q, n)):
                fused[doc] = fused.get(doc, 0.0) + weight * LEXICAL_WEIGHT / (RRF_K + rank + 1)
            if self.warning is not None:
                continue  # the vector arm already failed for this search
            try:
                for rank, pid in enumerate(self._vector_ids(q, n)):
                    at = self.position.get(pid)
                    if at is not None:
                        fused[at] = fused.get(at, 0.0) + weight * VECTOR_WEIGHT / (RRF_K + rank + 1)
            except Exception as err:  # noqa: BLE001 -- an endpoint down or changed: words still rank
                self.warning = (
                    f"向量检索不可用（{type(err).__name__}），本次只按关键词检索"
                    "（lexical results only）。"
                )
        best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [_with_score(self.passages[d], s) for d, s in best]

    def _vector_ids(self, query: str, n: int) -> list[str]:
        """The ids of the ``n`` nearest passages; raises when the embedder or the collection
        cannot answer (endpoint down, a model answering with another dimension)."""
        expanded = query + " " + " ".join(tokenize.expand(tokenize.terms(query)))
        vector = self.embedder.embed([expanded])
        if self.idf is not None and self.idf.shape[0] == vector.shape[1]:
            vector = vector * self.idf
        if float((vector**2).sum()) == 0:
            return []
        hits = self.collection.query(query_embeddings=vector, n_results=n, include=[])
        return list(hits["ids"][0])


def _with_score(p: Passage, score: float) -> Passage:
    return Passage(p.passage_id, p.source, p.slug, p.text, p.start, p.end, score)


def open_index(auto_build: bool = True) -> OpenIndex:
    """The live index, opened once per state and reopened when a new build is switched in.

    With no index yet, one built by another chromadb version or embedder, or one built from
    other knowledge files than the active ones, it is (re)built first when ``auto_build``
    (reported through the state's progress callback); otherwise IndexMissingError says how.
    """
    from drafter.retrieval.embeddings import get_embedder

    state = current()
    manifest = index_mod.read_manifest()
    stale = manifest is not None and (
        manifest.get("format") != index_mod.INDEX_FORMAT
        or manifest.get("chromadb") != index_mod.chromadb_version()
        or manifest.get("embedder") != get_embedder().name
    )
    outdated = (
        manifest is not None
        and not stale
        and (manifest.get("fingerprint") != index_mod.content_fingerprint())
    )
    if manifest is None or stale or outdated:
        if not auto_build:
            raise IndexMissingError("还没有索引：请先运行 `drafter index`（no index yet）。")
        if manifest is None:
            why = "还没有索引，正在建立……"
        elif stale:
            why = "索引由另一版本或另一嵌入方式建成，正在重建……"
        else:
            why = "手册或词典已更改，正在更新索引……"
        index_mod.build_index(rebuild=bool(stale), announce=why)
        manifest = index_mod.read_manifest()
        assert manifest is not None
    for _attempt in range(READ_ATTEMPTS):
        build = str(manifest["build"])
        try:
            return state.keyed("index", f"{state.home}|{build}", partial(OpenIndex, manifest))
        except IndexMissingError:
            # Rebuilt by another process between reading the manifest and opening its build?
            again = index_mod.read_manifest()
            if again is None or again.get("build") == build:
                raise  # no: the live build itself is damaged
            manifest = again
    raise IndexMissingError("索引正在频繁重建，暂时无法打开：请稍后再试（index busy）。")


def search(query: str, k: int = 5, *, restate: bool = False) -> list[Passage]:
    """The ``k`` passages of the manuals that best answer ``query``, best first.

    ``restate``: an agent's question (``drafter search``, the app's search box): with an LLM
    configured, it is also restated in the manuals' terms. The engines' own retrieval (for a
    rewrite or a draft) never pays for that call."""
    if query is None or not query.strip():
        raise InputError("查询是空的：请输入要搜索的问题（the query is empty）。")
    if k < 1:
        raise InputError("k 必须是正整数（k must be at least 1）。")
    if len(query) > 2000:
        raise InputError("查询太长（超过 2000 个字符）：请缩短后再搜索。")
    from drafter.retrieval.expansion import Expansion, expand
    from drafter.text.script import for_matching

    index = open_index()
    extra = expand(query.strip()) if restate else Expansion(())
    found = index.search(
        for_matching(query.strip()), k, tuple(for_matching(q) for q in extra.queries)
    )
    if extra.warning:
        index.warning = "；".join(w for w in (index.warning, extra.warning + "。") if w)
    return found


def last_warning() -> str | None:
    """Why the last search of the active state's index was lexical only (None: it was not)."""
    try:
        return open_index(auto_build=False).warning
    except DrafterError:
        return None


def passage(passage_id: str) -> Passage | None:
    idx = open_index()
    i = idx.position.get(passage_id)
    return idx.passages[i] if i is not None else None
