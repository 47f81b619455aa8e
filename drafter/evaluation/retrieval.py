"""Retrieval quality: hit@k, MRR and nDCG@5 against passages known to be relevant.

A case names its relevant passages by verbatim snippets of the manuals rather than by
passage ids, so the dataset survives a change of chunking.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from drafter.errors import DatasetError


@dataclass
class RetrievalCase:
    id: str
    query: str
    relevant: list[str]
    tags: list[str] = field(default_factory=list)


def load_cases(path: Path) -> list[RetrievalCase]:
    cases = []
    allowed = {"id", "query", "relevant", "tags"}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as err:
            raise DatasetError(
                f"{path}:{n}: 不是合法的 JSON（{getattr(err, 'msg', err)}）。"
            ) from None
        unknown = set(raw) - allowed
        if unknown or not isinstance(raw.get("query"), str) or not raw.get("relevant"):
            raise DatasetError(
                f"{path}:{n}: 需要 id、query、relevant 字段"
                + (f"，未知字段 {sorted(unknown)}" if unknown else "")
                + "。"
            )
        cases.append(
            RetrievalCase(
                str(raw.get("id", n)),
                raw["query"],
                list(raw["relevant"]),
                list(raw.get("tags", [])),
            )
        )
    return cases


def rank_of_first_hit(texts: list[str], relevant: list[str]) -> int | None:
    """1-based rank of the first passage containing any relevant snippet."""
    for i, text in enumerate(texts, 1):
        if any(r in text for r in relevant):
            return i
    return None


def score_case(
    case: RetrievalCase, texts: list[str], k: int = 5, n_relevant: int | None = None
) -> dict:
    """hit@k, reciprocal rank and nDCG@5; ``n_relevant`` is how many passages of the corpus
    hold a relevant snippet (the ideal ranking puts all of them first, up to five)."""
    rank = rank_of_first_hit(texts[:k], case.relevant)
    gains = [1.0 if any(r in t for r in case.relevant) else 0.0 for t in texts[:5]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    relevant = max(1, n_relevant if n_relevant is not None else int(sum(gains)))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant, 5)))
    return {
        "id": case.id,
        "query": case.query,
        "rank": rank,
        f"hit@{k}": 1.0 if rank else 0.0,
        "rr": 1.0 / rank if rank else 0.0,
        "ndcg@5": min(1.0, dcg / ideal),
    }


def evaluate(cases: list[RetrievalCase], k: int = 5, search=None) -> dict:
    """Run every case through ``search`` (default: the hybrid index) and aggregate."""
    if search is None:
        from drafter.retrieval.hybrid import search
    from drafter.knowledge.corpus import get_corpus

    passages = [p.text for p in get_corpus().passages]
    per_case, latencies = [], []
    for case in cases:
        t = time.perf_counter()
        hits = search(case.query, k=max(k, 5))
        latencies.append((time.perf_counter() - t) * 1000)
        n_relevant = sum(1 for p in passages if any(r in p for r in case.relevant))
        result = score_case(case, [h.text for h in hits], k, n_relevant)
        result["top"] = [h.passage_id for h in hits[:k]]
        per_case.append(result)
    n = max(1, len(per_case))
    return {
        "cases": per_case,
        "summary": {
            "n": len(per_case),
            f"hit@{k}": sum(c[f"hit@{k}"] for c in per_case) / n,
            "mrr": sum(c["rr"] for c in per_case) / n,
            "ndcg@5": sum(c["ndcg@5"] for c in per_case) / n,
        },
        "latency_ms": sorted(latencies),
    }
