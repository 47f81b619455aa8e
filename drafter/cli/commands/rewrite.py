"""`drafter rewrite`: rewrite a draft into the house tone, every change explained and cited."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from drafter.engines import registry
from drafter.types import RewriteResult, group_changes

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "rewrite"
HELP = "按手册改写客服草稿（你→您、可能→是、为什么→是什么），列出每处改动的理由与出处"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="草稿文件；- 或省略表示标准输入"
    )
    p.add_argument(
        "--engine",
        choices=registry.names(interactive=True),
        default="auto",
        help=registry.help_text(),
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help='输出一个 JSON 对象 {"original","rewritten","engine","changes","flags","warnings"}',
    )
    out.add_argument(
        "--jsonl",
        action="store_true",
        help='输入每行一个 {"id","text"}，输出每行一个结果（带 id；出错的行带 "error"）；'
        "有行出错时退出码为 2",
    )


def _engine(name: str) -> Callable[[str], RewriteResult]:
    """The rewrite function for ``--engine`` (NotConfiguredError for llm without a model)."""
    registry.resolve(name)  # refuses an unconfigured llm before any input is read
    engine = registry.get(name)
    return engine.rewrite


def _cite(citation) -> str:
    if citation is None:
        return "依据：手册中未找到引文（该规则暂无依据）"
    return f"依据：《{citation.source}》“{citation.quote}” [{citation.passage_id}]"


SHOWN_POSITIONS = 6  # positions listed for a group of identical changes


def _print_human(result) -> None:
    from drafter.rules.engine import line_col

    out = sys.stdout
    out.write(result.rewritten if result.rewritten.endswith("\n") else result.rewritten + "\n")
    out.write(f"\n—— 引擎：{result.engine} ——\n")
    if not result.changes and not result.flags:
        out.write("没有需要改动或提示的地方。\n")
    if result.changes:
        groups = group_changes(result.changes)
        same = f"，相同的改动合为 {len(groups)} 组" if len(groups) < len(result.changes) else ""
        out.write(f"改动 {len(result.changes)} 处{same}：\n")
        for i, g in enumerate(groups, 1):
            where = [line_col(result.original, result.changes[k].start) for k in g.indices]
            at = "、".join(f"{ln}:{col}" for ln, col in where[:SHOWN_POSITIONS])
            if len(where) > SHOWN_POSITIONS:
                at += f" 等 {len(where)} 处"
            after = f"“{g.after}”" if g.after else "（删去）"
            times = f" ×{g.count}" if g.count > 1 else ""
            out.write(f"{i:>2}. {at} “{g.before}” → {after}{times}  [{g.rule}]\n")
            out.write(f"    {g.explanation}\n    {_cite(g.citation)}\n")
    if result.flags:
        out.write(f"提示 {len(result.flags)} 处（未自动改写，请人工处理）：\n")
        for i, f in enumerate(result.flags, 1):
            line, col = line_col(result.original, f.start)
            out.write(f"{i:>2}. {line}:{col} “{f.text}”  [{f.rule}]\n    {f.message}\n")
            if f.suggestion:
                out.write(f"    建议：{f.suggestion}\n")
            out.write(f"    {_cite(f.citation)}\n")
    for w in result.warnings:
        out.write(f"注意：{w}\n")


def _run_jsonl(raw: str, rewrite: Callable[[str], RewriteResult]) -> int:
    from drafter.cli.io import print_jsonl
    from drafter.errors import DrafterError

    failed = 0
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        case_id = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("每行应是一个 JSON 对象")  # noqa: TRY004 - reported, not raised
            case_id = item.get("id")
            text = item.get("text")
            if not isinstance(text, str):
                raise ValueError("缺少字符串字段 text")  # noqa: TRY004 - reported, not raised
            result = rewrite(text)
        except (ValueError, DrafterError) as err:
            failed += 1
            print_jsonl({"id": case_id, "line": number, "error": str(err)})
            continue
        print_jsonl({"id": case_id, **result.to_dict()})
    if failed:
        print(f"drafter: 有 {failed} 行无法处理，见输出中的 error 字段。", file=sys.stderr)
        return 2
    return 0


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter.cli.io import print_json, read_input

    rewrite = _engine(args.engine)
    raw = read_input(args.file, what="草稿", batch=args.jsonl)
    if args.jsonl:
        if not raw.strip():
            from drafter.errors import InputError

            raise InputError('输入是空的：--jsonl 需要每行一个 {"id", "text"}。')
        return _run_jsonl(raw, rewrite)
    result = rewrite(raw)
    if args.json:
        print_json(result.to_dict())
    else:
        _print_human(result)
    return 0
