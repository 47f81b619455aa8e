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
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="只显示清洗报告（保留几行、去掉哪些行及原因），不写入任何文件",
    )
    p.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="LINE",
        help="保留这一行（照报告里显示的原文写；可重复）：清洗误删了正文时用",
    )
    p.add_argument("--json", action="store_true", help="机器可读输出（含每一行去掉的原因）")


def run(args: argparse.Namespace, app: Drafter) -> int:
    from pathlib import Path

    from drafter.cli.io import print_json
    from drafter.errors import InputError
    from drafter.knowledge.ingest import ingest

    if args.title and len(args.paths) > 1:
        raise InputError("--title 只能用于单个文件。")
    reports = ingest(
        [Path(p) for p in args.paths],
        Path(args.out) if args.out else None,
        title=args.title,
        keep=frozenset(line.strip() for line in args.keep if line.strip()),
        dry_run=args.dry_run,
    )
    import sys

    kept_text = "\n".join(r.kept_text for r in reports)
    for line in args.keep:
        if line.strip() and line.strip() not in kept_text:
            print(
                f"drafter: 注意：--keep 的“{line.strip()}”不在任何一页里（照清洗报告里的原文写）。",
                file=sys.stderr,
            )
    if args.json:
        print_json([r.to_dict() for r in reports])
        return 0
    for r in reports:
        where = "（试运行，未写入）" if not r.written else f" → {r.output}"
        print(f"{r.source}{where}")
        print(f"  标题：{r.title}　来源网站：{r.source_site or '（未识别）'}")
        print(f"  保留 {r.kept_lines} 行，去掉 {len(r.dropped)} 行：")
        for d in r.dropped:
            line = f"第 {d.line} 行" if d.line else "网页块"
            text = d.text if len(d.text) <= 80 else d.text[:78] + "……"
            print(f"    {line}  {d.reason}：{text}")
    if any(r.dropped for r in reports):
        print('误删了正文？用 --keep "那一行" 保留它（可重复），或先用 --dry-run 检查。')
    if not args.dry_run:
        print("运行 `drafter index` 更新索引。")
    return 0
