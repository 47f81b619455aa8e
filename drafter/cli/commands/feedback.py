"""`drafter feedback`: the accept/reject feedback agents gave in the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "feedback"
HELP = "改写反馈（网页中对每处改动的采纳/拒绝）：查看各规则采纳率，或导出为改写评测用例"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    export = sub.add_parser(
        "export",
        help="把反馈导出为改写评测用例（rewrite*.jsonl 格式）",
        description="把反馈导出为改写评测用例（rewrite*.jsonl 格式，见 evals/datasets/README.md）。"
        "每份草稿一条用例：期望结果是客服最终保留的文字。",
    )
    export.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="追加写入该文件（已有的用例按 id 或草稿跳过），如 "
        "evals/datasets/rewrite-feedback.jsonl；省略则输出到标准输出",
    )
    stats = sub.add_parser("stats", help="各规则的采纳与拒绝次数")
    stats.add_argument("--json", action="store_true", help="机器可读输出")


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter import feedback
    from drafter.cli.io import print_json

    if args.action == "stats":
        rates = feedback.acceptance()
        if args.json:
            print_json(
                [
                    {
                        "rule": r.rule,
                        "accepted": r.accepted,
                        "rejected": r.rejected,
                        "rate": round(r.rate, 4),
                    }
                    for r in rates
                ]
            )
            return 0
        if not rates:
            print("还没有反馈（在网页“改写”页复制最终稿时记录）。")
        for r in rates:
            print(f"{r.rule:<20} 采纳 {r.accepted:>4}  拒绝 {r.rejected:>4}  采纳率 {r.rate:.0%}")
        return 0
    if args.action != "export":
        print(
            "用法：drafter feedback export [--out FILE] | drafter feedback stats [--json]",
            file=sys.stderr,
        )
        return 2

    from drafter.evaluation import feedback_cases

    cases = feedback_cases.cases_from_feedback(r.to_dict() for r in feedback.rows())
    if args.out is None:
        sys.stdout.write(feedback_cases.to_jsonl(cases))
        return 0
    added, skipped = feedback_cases.append_cases(cases, args.out)
    print(
        f"已写入 {args.out}：新增 {added} 条用例，跳过已有的 {skipped} 条"
        f"（反馈 {feedback.count()} 条）。",
        file=sys.stderr,
    )
    return 0
