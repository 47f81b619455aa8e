"""Input and output helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drafter.errors import InputError
from drafter.text.decode import decode, max_bytes, read_file, read_stream

BATCH_MAX_BYTES = 1024 * 1024 * 1024  # a batch (--jsonl) of many drafts: 1 GB at most


def read_input(file: str | None, *, what: str = "输入", batch: bool = False) -> str:
    """Text from FILE, or from standard input when FILE is ``-`` or missing; at most what a
    draft of DRAFTER_MAX_CHARS can take (a ``batch`` of drafts: 1 GB), refused beyond it
    before it is all read."""
    limit = BATCH_MAX_BYTES if batch else max_bytes()
    if file in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError(
                "没有输入：请给出文件名，或通过标准输入传入文字（drafter ... - < file）。"
            )
        data = read_stream(sys.stdin.buffer, what=what, limit=limit)
    else:
        data = read_file(Path(file), what="文件", limit=limit, draft=None if batch else what)
    return decode(data, what=what)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def print_jsonl(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
