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
    "发發 达達 办辦 边邊 馈饋 查査 间間 气氣 动動 选選 择擇 满滿 术術 语語 英英 换換 贵貴 们們"
)
S2T = {p[0]: p[1] for p in _S2T_PAIRS.split()}
T2S = {t: s for s, t in S2T.items()}


def to_traditional(text: str) -> str:
    return "".join(S2T.get(ch, ch) for ch in text)
