"""`drafter ingest`: clean scraped manuals into knowledge/manuals/*.md."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "ingest"
HELP = "清洗网页抓取的手册（txt、md、html），写入 knowledge/manuals"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="手册文件")
    p.add_argument("--out", help="输出目录（默认 knowledge/manuals）")
    p.add_argument("--title", help="标题（只给一个文件时可用）")
    p.add_argument("--json", action="store_true", help="机器可读输出")


def run(args: argparse.Namespace, app: Drafter) -> int:
    from pathlib import Path

    from drafter.cli.io import print_json
    from drafter.errors import InputError
    from drafter.knowledge.ingest import ingest

    if args.title and len(args.paths) > 1:
        raise InputError("--title 只能用于单个文件。")
    reports = ingest(
        [Path(p) for p in args.paths], Path(args.out) if args.out else None, title=args.title
    )
    if args.json:
        print_json([{k: str(v) for k, v in r.__dict__.items()} for r in reports])
        return 0
    for r in reports:
        d = r.__dict__
        print("  ".join(f"{k}={v}" for k, v in d.items()))
    print("运行 `drafter index` 更新索引。")
    return 0
