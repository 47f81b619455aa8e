"""`drafter check`: the rules as a linter, for pipelines (exit 0 clean, 1 findings, 2 bad input)."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "check"
HELP = "检查草稿是否符合手册规则：列出每处命中（行:列 规则 说明），有命中时退出码为 1"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="草稿文件；- 或省略表示标准输入"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='输出 {"findings": [{"rule","kind","line","col","start","end","text","message",'
        '"suggestion","citation"}], "warnings": [...]}',
    )


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# Characters of the line shown on each side of a finding: a long one-line draft (an e-mail
# pasted without breaks) must not be printed whole under every finding.
CONTEXT = 30
SPAN = 80  # a longer finding (a whole sentence) is shown up to this many characters
ELLIPSIS = "…"
PLACES = 50  # places of a repeated finding listed (all of them are in --json)


def excerpt(line: str, col: int, length: int, context: int = CONTEXT) -> tuple[str, int]:
    """The part of ``line`` around a finding at 1-based ``col``, and the finding's column in it.

    At most ``context`` characters each side of the finding (the finding itself whole), with
    an ellipsis where the line was cut."""
    if length > SPAN:  # the finding's head, then the cut
        end = col - 1 + SPAN
        start = max(0, col - 1 - context)
        head = ELLIPSIS if start > 0 else ""
        return head + line[start:end] + ELLIPSIS, col - start + len(head)
    start = max(0, col - 1 - context)
    end = min(len(line), col - 1 + length + context)
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(line) else ""
    return head + line[start:end] + tail, col - start + len(head)


def underline(line: str, col: int, length: int) -> str:
    """Spaces up to 1-based ``col`` of ``line`` and carets under ``length`` characters (CJK = 2)."""
    head = "".join("\t" if ch == "\t" else " " * _width(ch) for ch in line[: col - 1])
    span = line[col - 1 : col - 1 + length]
    return head + "^" * max(1, sum(_width(ch) for ch in span))


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter.cli.io import print_json, read_input
    from drafter.rules.engine import findings

    text = read_input(args.file, what="草稿")
    result = app.rewrite(text, engine="offline")
    found = findings(result)
    if args.json:
        print_json({"findings": [f.to_dict() for f in found], "warnings": list(result.warnings)})
    else:
        lines = text.split("\n")
        groups: dict[tuple[str, str, str], list] = {}
        for f in found:  # the same finding again (你→您 ×22) is shown once, with its places
            groups.setdefault((f.rule, f.text, f.message), []).append(f)
        for same in groups.values():
            f = same[0]
            message = f.message
            if f.kind == "flag" and f.suggestion:
                message += f" 建议：{f.suggestion}"
            source = lines[f.line - 1].rstrip("\r")
            length = min(f.end - f.start, len(source) - (f.col - 1))
            shown, col = excerpt(source, f.col, length)
            print(f"{f.line}:{f.col} {f.rule} {message}")
            print(shown)
            print(underline(shown, col, min(length, SPAN)))
            if len(same) > 1:
                places = " ".join(f"{g.line}:{g.col}" for g in same[1 : 1 + PLACES])
                more = f" 等（共 {len(same)} 处）" if len(same) > 1 + PLACES else ""
                print(f"  同样的还有 {len(same) - 1} 处：{places}{more}")
        if found:
            changes = sum(1 for f in found if f.kind == "change")
            print(
                f"共 {len(found)} 处（可自动改写 {changes} 处，需人工处理 {len(found) - changes} 处）；"
                "用 drafter rewrite 查看改写结果。"
            )
        for w in result.warnings:
            print(f"注意：{w}", file=sys.stderr)
    return 1 if found else 0
