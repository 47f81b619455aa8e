"""BM25 over jieba terms, stored as term-major postings in numpy arrays.

Scoring a query sums the postings of its terms with one ``np.bincount``: fast at 100,000
passages, and loading needs numpy alone (no scipy or bm25s on the search path).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drafter.text import segment as tokenize

K1, B = 1.2, 0.75
SYNONYM_WEIGHT = 0.6
SINGLE_CHAR_WEIGHT = 0.5


class BM25Index:
    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
    ):
        self.vocab = vocab
        self.indptr = indptr
        self.docs = docs
        self.weights = weights
        self.n_docs = n_docs

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> BM25Index:
        n = len(token_lists)
        counts = [Counter(toks) for toks in token_lists]
        lengths = np.array([len(t) for t in token_lists], dtype=np.float32)
        avgdl = float(lengths.mean()) if n else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for d, c in enumerate(counts):
            for term, tf in c.items():
                postings.setdefault(term, []).append((d, tf))
        vocab = {t: i for i, t in enumerate(sorted(postings))}
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        docs_parts, weight_parts = [], []
        for term, i in vocab.items():
            plist = postings[term]
            df = len(plist)
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            doc_ids = np.fromiter((p[0] for p in plist), dtype=np.int32, count=df)
            tfs = np.fromiter((p[1] for p in plist), dtype=np.float32, count=df)
            norm = K1 * (1 - B + B * lengths[doc_ids] / max(avgdl, 1e-9))
            docs_parts.append(doc_ids)
            weight_parts.append((idf * tfs * (K1 + 1) / (tfs + norm)).astype(np.float32))
            indptr[i + 1] = indptr[i] + df
        docs = np.concatenate(docs_parts) if docs_parts else np.zeros(0, np.int32)
        weights = np.concatenate(weight_parts) if weight_parts else np.zeros(0, np.float32)
        return cls(vocab, indptr, docs, weights, n)

    @classmethod
    def build_from_texts(cls, texts: list[str]) -> BM25Index:
        return cls.build([tokenize.terms(t) for t in texts])

    def scores(self, query_terms: list[str], expansions: Sequence[str] = ()) -> np.ndarray:
        """BM25 of every passage; expansion terms (near-synonyms) count at a lower weight."""
        # Single characters are weak evidence in Chinese: most are parts of longer words.
        weighted = [
            (t, 1.0 if len(t) > 1 else SINGLE_CHAR_WEIGHT) for t in dict.fromkeys(query_terms)
        ]
        weighted += [(t, SYNONYM_WEIGHT) for t in dict.fromkeys(expansions)]
        parts = [(self.vocab[t], w) for t, w in weighted if t in self.vocab]
        if not parts:
            return np.zeros(self.n_docs, dtype=np.float32)
        docs = np.concatenate([self.docs[self.indptr[i] : self.indptr[i + 1]] for i, _ in parts])
        weights = np.concatenate(
            [self.weights[self.indptr[i] : self.indptr[i + 1]] * w for i, w in parts]
        )
        return np.bincount(docs, weights=weights, minlength=self.n_docs).astype(np.float32)

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (doc, score) pairs with a positive score, best first."""
        terms = tokenize.terms(query)
        s = self.scores(terms, tokenize.expand(terms))
        if not len(s):
            return []
        k = min(k, len(s))
        idx = np.argpartition(-s, k - 1)[:k]
        idx = idx[np.argsort(-s[idx], kind="stable")]
        return [(int(i), float(s[i])) for i in idx if s[i] > 0]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "indptr.npy", self.indptr)
        np.save(directory / "docs.npy", self.docs)
        np.save(directory / "weights.npy", self.weights)
        (directory / "vocab.json").write_text(
            json.dumps({"n_docs": self.n_docs, "vocab": self.vocab}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        meta = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        return cls(
            meta["vocab"],
            np.load(directory / "indptr.npy"),
            np.load(directory / "docs.npy"),
            np.load(directory / "weights.npy"),
            int(meta["n_docs"]),
        )
