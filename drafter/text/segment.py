"""jieba, set up once: its cache under the state folder, the team's user dictionary, no paddle."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from drafter.state import State, current

MIN_FREQ = 10

# Tokens that carry no meaning for retrieval.
_PUNCT = re.compile(r"^[\s\W_]+$", re.UNICODE)
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "也",
        "就",
        "都",
        "而",
        "并",
        "要",
        "会",
        "对",
        "把",
        "被",
        "让",
        "给",
        "向",
        "从",
        "这",
        "那",
        "这个",
        "那个",
        "一个",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "之",
        "其",
        "于",
        "以",
        "为",
        "如",
        "若",
        "则",
        "但",
        "还",
        "又",
        "再",
        "很",
        "更",
        "最",
        "能",
        "可以",
        "我",
        "我们",
        "他",
        "她",
        "它",
        "他们",
        "她们",
        "怎么",
        "如何",
        "什么",
        "哪些",
        "应该",
        "时候",
        "时",
        "该",
        "吗",
        "不",
        "里",
        "说",
        "话",
        "好",
        "完",
        "才",
        "同",
        "大",
        "有",
        "没有",
        "一下",
        "的话",
        "这种",
        "怎样",
        "怎么办",
        "些",
        "说些",
        "自己",
        "实在",
        "东西",
        "之后",
        "以后",
        "还是",
        "一直",
        "可",
        "到",
        "上",
        "下",
        "中",
        "多",
    ]
)


def _get() -> Any:
    """The active knowledge's jieba tokenizer (with the team's user dictionary)."""
    state = current()
    return state.artefact("segmenter", lambda: _load_tokenizer(state))


def _load_tokenizer(state: State) -> Any:
    # jieba is imported here, not at the top: loading its dictionary takes ~0.4 s and only
    # the paths that segment (rules for 为什么, retrieval) pay for it.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    cache_dir = state.home / "cache"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        writable = os.access(cache_dir, os.W_OK)
    except OSError:
        writable = False
    if not writable:  # a read-only state folder: jieba's cache goes to a private temp folder
        cache_dir = Path(tempfile.mkdtemp(prefix="drafter-jieba-"))
    tok = jieba.Tokenizer(str(_compact_dictionary(cache_dir)))
    tok.tmp_dir = str(cache_dir)
    tok.cache_file = f"jieba-min{MIN_FREQ}.cache"
    tok.initialize()
    userdict = state.knowledge_dir / "userdict.txt"
    if userdict.is_file():
        tok.load_userdict(str(userdict))
    return tok


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


def is_word(word: str) -> bool:
    """True when ``word`` is in the dictionary (not a guess jieba made for unknown text)."""
    return bool(_get().FREQ.get(word))


def tagged(text: str) -> list[tuple[str, str]]:
    """Words of ``text`` with jieba's part-of-speech tags (n noun, v verb, r pronoun …), from
    the dictionary only: no HMM guesses, which glue characters into words nobody wrote (张卡)."""
    state = current()
    tagger = state.artefact("pos-tagger", _pos_tagger)
    return [(p.word, p.flag) for p in tagger.cut(text, HMM=False)]


def _pos_tagger() -> Any:
    import jieba.posseg

    return jieba.posseg.POSTokenizer(_get())


def tokenize_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their character offsets in ``text``."""
    return [(w, s, e) for w, s, e in _get().tokenize(text, mode="default", HMM=True)]


def terms(text: str) -> list[str]:
    """Retrieval terms: search-mode tokens, lower-cased, without punctuation and stopwords."""
    words = [w.strip().lower() for w in _get().lcut_for_search(text, HMM=True)]
    table = synonyms()
    out = []
    for i, w in enumerate(words):
        # Phrases of the thesaurus that jieba splits (办不到 -> 办 / 不到) count as one term too.
        for n in (2, 3):
            joined = "".join(words[i : i + n])
            if len(words[i : i + n]) == n and joined in table:
                out.append(joined)
        if not w or _PUNCT.match(w) or w in STOPWORDS:
            continue
        out.append(w)
    return out


def synonyms() -> dict[str, tuple[str, ...]]:
    """Word -> its near-synonyms, from the active knowledge's synonyms.yaml."""
    state = current()
    return state.artefact("synonyms", lambda: _load_synonyms(state.knowledge_dir / "synonyms.yaml"))


def _load_synonyms(path: Path) -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in data.get("groups", []):
            words = [str(w).lower() for w in group]
            for w in words:
                table.setdefault(w, set()).update(x for x in words if x != w)
    return {w: tuple(sorted(s)) for w, s in table.items()}


def expand(query_terms: list[str]) -> list[str]:
    """The near-synonyms of the query's terms that the query does not already contain."""
    table = synonyms()
    seen = set(query_terms)
    extra = []
    for t in query_terms:
        for s in table.get(t, ()):
            if s not in seen:
                seen.add(s)
                extra.append(s)
    return extra
