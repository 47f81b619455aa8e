"""`drafter draft`: draft a reply to a customer message, grounded in the manuals."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from drafter.engines import registry

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "draft"
HELP = "按手册的投诉处理步骤为客户消息起草回复（chat 或 email）"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE|-",
        help="客户消息所在的文件；- 或省略表示从标准输入读取",
    )
    p.add_argument(
        "--channel",
        choices=["chat", "email"],
        default="chat",
        help="chat：简短的在线回复（默认）；email：带称呼、分段和落款的邮件",
    )
    p.add_argument(
        "--engine",
        choices=registry.names(interactive=True),
        default="auto",
        help=registry.help_text(),
    )
    p.add_argument(
        "--situation",
        default=None,
        metavar="ID",
        help="指定情况，不自动识别（complaint, staff_error, cannot_meet, cannot_answer, "
        "suggestion, thanks, harassment, question）",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='输出 {"message","reply","channel","engine","situation","facts","citations",'
        '"placeholders","warnings","steps","issues","slots","abuse","escalation",'
        '"no_forward","angry"}（issues：客户的各项诉求；slots：商品、单号、金额、期限等）',
    )


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter.cli.io import print_json, read_input
    from drafter.drafting.pack import load_pack

    message = read_input(args.file, what="客户消息")
    result = app.draft(message, channel=args.channel, engine=args.engine, situation=args.situation)
    if args.json:
        print_json(result.to_dict())
        return 0
    pack = load_pack()
    label = (
        pack.situations[result.situation].label
        if result.situation in pack.situations
        else result.situation
    )
    print(result.reply)
    print()
    print(f"情况：{label}（{result.situation}） 渠道：{result.channel} 引擎：{result.engine}")
    if result.placeholders:
        print("待填写：")
        for ph in result.placeholders:
            hint = pack.placeholders.get(ph, "")
            print(f"  {ph}  {hint}".rstrip())
    if result.citations:
        print("依据：")
        for i, c in enumerate(result.citations, 1):
            print(f"  [{i}] 《{c.source}》 {c.passage_id}：“{c.quote}”")
    for w in result.warnings:
        print(f"注意：{w}")
    return 0
