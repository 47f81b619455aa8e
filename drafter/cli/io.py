"""Input and output helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drafter.errors import InputError
from drafter.text.decode import decode, read_file


def read_input(file: str | None, *, what: str = "输入") -> str:
    """Text from FILE, or from standard input when FILE is ``-`` or missing."""
    if file in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError(
                "没有输入：请给出文件名，或通过标准输入传入文字（drafter ... - < file）。"
            )
        data = sys.stdin.buffer.read()
    else:
        data = read_file(Path(file), what="文件")
    return decode(data, what=what)


def print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def print_jsonl(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
