"""`drafter feedback`: the accept/reject feedback agents gave in the app."""

from __future__ import annotations

import argparse
import os
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
        help="追加写入该文件（已有的用例按 id 或草稿跳过），如 ~/review/rewrite-feedback.jsonl；"
        "省略则输出到标准输出。不写入 git 跟踪的文件夹，除非加 --into-repository",
    )
    export.add_argument(
        "--keep-personal-data",
        action="store_true",
        help="不遮盖电话、证件号、邮箱和姓名（默认遮盖，如 138****5678、李*女士）",
    )
    export.add_argument(
        "--into-repository",
        action="store_true",
        help="允许写入 git 跟踪的文件夹（如 evals/datasets/）：请先确认已遮盖个人信息",
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

    if args.out is not None and str(args.out) == "-":
        args.out = None  # `-`: standard output, as everywhere else
    if args.out is not None:
        _check_target(args.out, allow_tracked=args.into_repository)
    records = feedback.rows()
    if args.keep_personal_data:
        print(
            "drafter: 注意：导出的用例含客户的电话、证件号、邮箱和姓名，未遮盖"
            "（--keep-personal-data）；请勿提交或外传。",
            file=sys.stderr,
        )
    else:
        records = [r.redacted() for r in records]
    cases = feedback_cases.cases_from_feedback(r.to_dict() for r in records)
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


def _check_target(out: Path, *, allow_tracked: bool) -> None:
    """Refuse an export file that cannot be written, or that lands in a folder git tracks
    (customers' text would be one `git add` away from the repository)."""
    import subprocess

    from drafter.errors import InputError

    target = out.expanduser().resolve()
    if target.is_dir():
        raise InputError(f"{out} 是文件夹：请给出要写入的文件名（如 {out}/feedback.jsonl）。")
    folder = target.parent
    blocking = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise InputError(f"{blocking} 是文件，不是文件夹：无法在它下面写入 {out}。")
    if not folder.is_dir():
        raise InputError(f"文件夹 {folder} 不存在：请先创建它，或换一个位置。")
    if target.exists() and not target.is_file():
        raise InputError(f"{out} 不是普通文件：无法写入。")
    probe = target if target.exists() else folder
    if not os.access(probe, os.W_OK):
        raise InputError(f"{probe} 不可写：请换一个位置。")
    if allow_tracked:
        return
    top = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
    if top is None:
        return
    try:
        tracked = subprocess.run(
            ["git", "-C", str(top), "ls-files", "--", str(folder.relative_to(top))],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        tracked = "?"  # no git to ask: inside a checkout counts as tracked
    if tracked:
        raise InputError(
            f"{folder} 是 git 跟踪的文件夹：导出的反馈含客户的文字，默认不写进仓库。"
            "请写到仓库外（如 ~/review/），或确认后加 --into-repository。"
        )
