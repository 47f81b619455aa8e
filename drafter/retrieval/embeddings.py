"""Embedding functions that work offline: hashed character n-grams by default.

chromadb's default embedding function downloads a model at run time, so it must never run:
the index always hands chromadb ready-made vectors.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import Protocol

import numpy as np

from drafter.errors import LLMError
from drafter.state import current

_NON_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class HashedNgramEmbedder:
    """Character 1–3-grams hashed into ``dim`` signed buckets, sublinear tf, L2-normalised.

    Deterministic across processes (crc32, not Python's salted hash), no model, no network.
    """

    def __init__(self, dim: int = 512, orders: tuple[int, ...] = (1, 2, 3)):
        self.dim = dim
        self.orders = orders
        self.name = f"hashed-ngrams-{'-'.join(map(str, orders))}-d{dim}-v1"
        self._buckets: dict[str, tuple[int, float]] = {}

    def _bucket(self, gram: str) -> tuple[int, float]:
        b = self._buckets.get(gram)
        if b is None:
            h = zlib.crc32(gram.encode("utf-8"))
            # Longer n-grams carry more meaning than single characters.
            weight = 0.5 if len(gram) == 1 else 1.0
            b = (h % self.dim, weight if (h >> 31) & 1 else -weight)
            if len(self._buckets) < 2_000_000:
                self._buckets[gram] = b
        return b

    def embed_one(self, text: str, out: np.ndarray) -> None:
        counts: dict[int, float] = {}
        for piece in _NON_TEXT.split(text.lower()):
            for n in self.orders:
                for i in range(len(piece) - n + 1):
                    idx, w = self._bucket(piece[i : i + n])
                    counts[idx] = counts.get(idx, 0.0) + w
        for idx, v in counts.items():
            out[idx] = math.copysign(1.0 + math.log(abs(v)), v) if v else 0.0
        norm = float(np.linalg.norm(out))
        if norm > 0:
            out /= norm

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(vectors, texts):
            self.embed_one(text, row)
        return vectors


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint, used only when DRAFTER_EMBEDDINGS_MODEL is set."""

    def __init__(self, model: str):
        from openai import OpenAI

        self.model = model
        self.name = f"openai:{model}"
        s = current().settings
        self._client = OpenAI(
            api_key=s.embeddings_api_key or s.openai_api_key or "not-needed",
            base_url=s.embeddings_base_url or s.openai_base_url or None,
            timeout=s.embeddings_timeout,
            max_retries=s.llm_retries,
        )
        self.dim = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        for i in range(0, len(texts), 128):
            try:
                reply = self._client.embeddings.create(model=self.model, input=texts[i : i + 128])
            except openai.OpenAIError as err:
                raise LLMError(
                    f"嵌入服务不可用（{type(err).__name__}）：检查 DRAFTER_EMBEDDINGS_BASE_URL"
                    "（或 OPENAI_BASE_URL），或清空 DRAFTER_EMBEDDINGS_MODEL 改用离线嵌入。",
                    cause=type(err).__name__,
                ) from None
            rows.extend(d.embedding for d in sorted(reply.data, key=lambda d: d.index))
        vectors = np.asarray(rows, dtype=np.float32)
        self.dim = int(vectors.shape[1]) if len(rows) else self.dim
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


_HASHED = HashedNgramEmbedder()  # stateless: one for the process


def get_embedder() -> Embedder:
    """The configured embedder: the endpoint when DRAFTER_EMBEDDINGS_MODEL is set, else hashing."""
    model = current().settings.embeddings_model
    if model:
        return OpenAIEmbedder(model)
    return _HASHED
