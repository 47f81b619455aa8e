"""Simplified <-> traditional Chinese for the characters that rule replacements write.

A small table, not a general converter: drafter.rules.model uses it to write a replacement in the
script of the words it replaces, drafter.rules.engine to tell which script a draft is written in.
"""

from __future__ import annotations

# Simplified -> traditional for the characters that replacements write. A replacement keeps
# the script of the words it replaces (為什麼 -> 是什麼原因讓您...); a rule may also give
# replace_hant explicitly.
_S2T_PAIRS = (
    "们們 为為 么麼 这這 说說 让讓 没沒 会會 个個 时時 过過 还還 应應 该該 请請 问問 题題 联聯 谢謝 "
    "号號 码碼 点點 欢歡 与與 无無 关關 归歸 经經 处處 给給 帮幫 错錯 当當 实實 况況 单單 讯訊 务務 "
    "来來 见見 电電 话話 体體 现現 将將 对對 开開 吗嗎 决決 导導 确確 认認 须須 转轉 员員 门門 "
    "发發 达達 办辦 边邊 馈饋 间間 气氣 动動 选選 择擇 满滿 术術 语語 英英 换換 贵貴 们們"
)
S2T = {p[0]: p[1] for p in _S2T_PAIRS.split()}
T2S = {t: s for s, t in S2T.items()}


def to_traditional(text: str) -> str:
    return "".join(S2T.get(ch, ch) for ch in text)


# -- whole texts, with OpenCC --------------------------------------------------------------

# Words that only Cantonese writes (喺, 咗, 唔): a Hong Kong customer, answered in HK script.
_CANTONESE = frozenset("喺咗唔嘅啲冇佢哋嚟睇")


def _converter(config: str):
    import opencc  # imported where used: only Traditional messages pay for it

    cache = _CONVERTERS.get(config)
    if cache is None:
        cache = _CONVERTERS[config] = opencc.OpenCC(config)
    return cache


_CONVERTERS: dict = {}


def is_traditional(text: str) -> bool:
    """Whether ``text`` is written in Traditional characters (more of its characters change
    from Traditional to Simplified than the other way)."""
    t2s = _converter("t2s").convert(text)
    s2t = _converter("s2t").convert(text)
    changed_t = sum(a != b for a, b in zip(text, t2s, strict=False))
    changed_s = sum(a != b for a, b in zip(text, s2t, strict=False))
    return changed_t > changed_s and changed_t >= 2


def traditional_for(message: str, text: str) -> str:
    """``text`` (Simplified) in the Traditional script and wording of ``message``'s writer:
    Hong Kong (s2hk) when the message writes Cantonese, else Taiwan (s2twp)."""
    config = "s2hk" if any(ch in _CANTONESE for ch in message) else "s2twp"
    return _converter(config).convert(text)


def to_region(text: str, region: str) -> str:
    """Simplified ``text`` in the Traditional script and wording of ``region`` (TW or HK)."""
    return _converter("s2hk" if region.upper() == "HK" else "s2twp").convert(text)


def to_simplified(text: str) -> str:
    return _converter("t2s").convert(text)


def for_matching(text: str) -> str:
    """The form in which text is indexed and searched: Simplified characters and mainland
    wording (OpenCC tw2sp, by phrase: 請問退款要多久 -> 请问退款要多久, 軟體 -> 软件), so a
    Traditional question finds the manuals; Simplified text keeps its words (t2s folds
    stray Traditional characters only). Only for
    matching: what is shown and quoted stays as written."""
    if text.isascii():
        return text
    # Phrases only for Traditional text: on Simplified text tw2sp would turn the mainland's
    # own words into others (程序 -> 进程, 文件 -> 文档).
    simplified = _converter("t2s").convert(text)
    changed = sum(a != b for a, b in zip(text, simplified, strict=False))
    return _converter("tw2sp").convert(text) if changed >= 2 else simplified
