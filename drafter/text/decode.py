"""Where text comes in: decoding bytes and checking what a user pasted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

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


MANUAL_MAX_BYTES = 20 * 1024 * 1024  # a manual file larger than this is no manual


def max_bytes() -> int:
    """The most bytes a draft of DRAFTER_MAX_CHARS characters can take (4 a character in
    UTF-8 and GB18030), and a little room for a BOM: more is refused before it is decoded."""
    return max_chars() * 4 + 4


def too_long(what: str) -> InputError:
    return InputError(f"{what}太长：超过上限 {max_chars()} 个字符（DRAFTER_MAX_CHARS）。")


def read_stream(stream, *, what: str = "输入", limit: int | None = None) -> bytes:
    """At most ``limit`` bytes of a stream (standard input); a longer one is refused as soon
    as the limit is passed, never read to its end (``< /dev/zero`` never ends)."""
    limit = max_bytes() if limit is None else limit
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_long(what)
    return data


def read_file(
    path: Path | str, *, what: str = "文件", limit: int | None = None, draft: str | None = None
) -> bytes:
    """The bytes of a regular file; one sentence for a missing file, a folder, a FIFO or a device.

    A FIFO or a device would block or never end (``/dev/zero``), so they are refused before
    they are opened; a file over ``limit`` bytes is refused before it is read (as a draft
    that is too long when ``draft`` names what it is)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"找不到{what} {path}（no such file）。") from None
    except OSError as err:
        raise InputError(f"无法读取{what} {path}：{err.strerror or err}。") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} 是文件夹，不是{what}（a folder, not a file）。")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"{path} 不是普通文件（管道、设备或套接字），不能作为{what}读取（not a regular file）。"
        )
    if limit is not None and st.st_size > limit:
        if draft is not None:
            raise too_long(draft)
        raise InputError(f"{what} {path} 太大（{st.st_size // 1024} KB）：请检查是否选错了文件。")
    try:
        with open(path, "rb") as fh:
            return fh.read() if limit is None else read_stream(fh, what=draft or what, limit=limit)
    except OSError as err:
        raise InputError(f"无法读取{what} {path}：{err.strerror or err}。") from None


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
