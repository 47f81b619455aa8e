"""`drafter search`: ranked passages of the manuals."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "search"
HELP = "在手册中检索与问题最相关的段落"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="+", help="问题或关键词")
    p.add_argument("-k", type=int, default=5, help="返回几条（默认 5）")
    p.add_argument(
        "--json", action="store_true", help='输出 [{"passage_id","source","text","score"}]'
    )


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter.cli.io import print_json
    from drafter.retrieval.hybrid import last_warning

    hits = app.search(" ".join(args.query), k=args.k)
    with app.state.active():
        warning = last_warning()
    if warning:
        print(f"注意：{warning}", file=sys.stderr)
    if args.json:
        print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print("没有找到相关段落。")
    for i, h in enumerate(hits, 1):
        print(f"{i}. 《{h.source}》 [{h.passage_id}]  score={h.score:.4f}")
        print(f"   {h.text}\n")
    return 0
