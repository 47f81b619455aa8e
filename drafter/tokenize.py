"""jieba, set up once: its cache under the state folder, the team's user dictionary, no paddle."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from . import settings

_lock = threading.Lock()
_tokenizer = None
MIN_FREQ = 10

# Tokens that carry no meaning for retrieval.
_PUNCT = re.compile(r"^[\s\W_]+$", re.UNICODE)
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 就 都 而 并 要 会 对 把 被 让 给 向 从 这 那 这个 那个 一个 "
    "吗 呢 吧 啊 呀 么 之 其 于 以 为 如 若 则 但 还 又 再 很 更 最 能 可以 我 我们 你 您 他 她 "
    "它 他们 她们 怎么 如何 什么 哪些 应该 时候 时 该".split()
)


def _get():
    """The configured jieba tokenizer (imported lazily: loading its dictionary takes ~0.4 s)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                cache_dir = settings.home() / "cache"
                cache_dir.mkdir(parents=True, exist_ok=True)
                tok = jieba.Tokenizer(str(_compact_dictionary(cache_dir)))
                tok.tmp_dir = str(cache_dir)
                tok.cache_file = f"jieba-min{MIN_FREQ}.cache"
                tok.initialize()
                userdict = settings.knowledge_dir() / "userdict.txt"
                if userdict.is_file():
                    tok.load_userdict(str(userdict))
                _tokenizer = tok
    return _tokenizer


def _compact_dictionary(cache_dir: Path) -> Path:
    """jieba's dictionary without its rarest words: loads in 0.16 s instead of 0.65 s.

    Words seen fewer than MIN_FREQ times in jieba's corpus are dropped (105k of 349k words
    stay); segmentation of service language is unchanged in practice, and the team's user
    dictionary adds back what matters.
    """
    import jieba

    target = cache_dir / f"jieba-dict-min{MIN_FREQ}.txt"
    if not target.is_file():
        source = Path(jieba.__file__).with_name("dict.txt")
        keep = []
        for line in source.read_text(encoding="utf-8").splitlines():
            parts = line.split(" ")
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= MIN_FREQ:
                keep.append(line)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("\n".join(keep) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    return target


def cut(text: str) -> list[str]:
    """Precise-mode segmentation (HMM on for unknown words)."""
    return _get().lcut(text, HMM=True)


def tokenize_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their character offsets in ``text``."""
    return [(w, s, e) for w, s, e in _get().tokenize(text, mode="default", HMM=True)]


def terms(text: str) -> list[str]:
    """Retrieval terms: search-mode tokens, lower-cased, without punctuation and stopwords."""
    out = []
    for w in _get().lcut_for_search(text, HMM=True):
        w = w.strip().lower()
        if not w or _PUNCT.match(w) or w in STOPWORDS:
            continue
        out.append(w)
    return out
