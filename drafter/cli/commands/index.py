"""`drafter index`: clean and index the manuals."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "index"
HELP = "清洗并索引手册（默认 knowledge/manuals）；PATH 为要新增的手册文件"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="要先清洗加入的手册文件（txt、md、html）"
    )
    p.add_argument("--rebuild", action="store_true", help="忽略已有索引，全部重建")
    p.add_argument("--status", action="store_true", help="只显示索引状态")
    p.add_argument("--json", action="store_true", help="机器可读输出")


def run(args: argparse.Namespace, app: Drafter) -> int:
    from pathlib import Path

    from drafter.cli.io import print_json

    if args.status:
        st = app.index_status()
        if args.json:
            print_json(st)
        elif st["built"]:
            print(
                f"手册 {st['manuals']} 份，段落 {st['passages']} 条，建于 {st['built_at']}（{st['embedder']}）"
            )
            if st.get("damage"):
                print(f"索引已损坏：{st['damage']}。运行 `drafter index` 修复。")
        elif st.get("damage"):
            print(st["damage"])
        else:
            print("还没有索引：运行 `drafter index` 建立。")
        return 1 if st.get("damage") else 0
    added = []
    if args.paths:
        added = app.ingest([Path(p) for p in args.paths])
    report = app.build_index(rebuild=args.rebuild)
    if args.json:
        out = dict(report.__dict__)
        out["ingested"] = [getattr(r, "__dict__", str(r)) for r in added]
        print(json.dumps(out, ensure_ascii=False, default=str))
        return 0
    for r in added:
        print(f"已加入：{getattr(r, 'path', r)}")
    if report.built:
        print(
            f"索引已建立：手册 {report.manuals} 份，段落 {report.passages} 条"
            f"（新计算向量 {report.embedded} 条），用时 {report.seconds:.2f} 秒。"
        )
    else:
        print(f"索引已是最新：手册 {report.manuals} 份，段落 {report.passages} 条。")
    for message in report.messages if report.built else []:
        print(message)
    return 0
