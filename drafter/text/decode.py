"""Where text comes in: decoding bytes and checking what a user pasted."""

from __future__ import annotations

from drafter.errors import InputError
from drafter.state import current


def decode(data: bytes, *, what: str = "输入") -> str:
    """Bytes to text: UTF-8 (BOM allowed), else a confidently detected Chinese encoding.

    Binary data and undecidable encodings are refused with one sentence.
    """
    if not data:
        return ""
    if b"\x00" in data[:8192]:
        raise InputError(
            f"{what}看起来是二进制文件，不是文本（The input looks binary, not text）。"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # GB18030 (a superset of GBK/GB2312) is common for Chinese manuals in the wild.
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(f"{what}不是 UTF-8 或 GB18030 编码的文本（not UTF-8 text）。") from None
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    if cjk < max(1, len(text) // 10):
        raise InputError(f"{what}不是 UTF-8 编码的文本，也无法可靠识别其编码（not UTF-8 text）。")
    return text


def max_chars() -> int:
    return current().settings.max_chars


def check_text(text: str, *, what: str = "草稿") -> str:
    """Refuse text that cannot be processed; returns it unchanged otherwise."""
    if text is None or not text.strip():
        raise InputError(f"{what}是空的：请粘贴要处理的文字（the text is empty）。")
    limit = max_chars()
    if len(text) > limit:
        raise InputError(
            f"{what}有 {len(text)} 个字符，超过上限 {limit}（DRAFTER_MAX_CHARS）；请分段处理。"
        )
    return text


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)
