"""`drafter eval`: run the evaluation suites, compare with a baseline, check thresholds."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from drafter.engines import registry
from drafter.evaluation.suites import SUITES

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "eval"
HELP = "离线评测：改写、起草、检索三套用例的各项指标，可与基线比较、设阈值（供 CI 使用）"

SUITE_CHOICES = (*SUITES, "heldout", "dev", "all")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--suite",
        action="append",
        choices=SUITE_CHOICES,
        default=None,
        help="评测哪一套（可重复；dev：三套开发集，heldout：三套留出集；默认 all）",
    )
    p.add_argument(
        "--engine",
        choices=registry.names(evaluable=True),
        default="offline",
        help=registry.help_text(interactive=False),
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="与 --engine llm 一起用：把模型回复录制到 evals/cassettes（供 replay 使用）",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="输出全部指标和逐条结果的 JSON（除 timing 一节外，同样的输入两次输出相同）",
    )
    p.add_argument(
        "--out", metavar="RUN.json", type=Path, help="另把 JSON 结果写入文件（之后可作 --baseline）"
    )
    p.add_argument(
        "--report",
        metavar="FILE.html",
        type=Path,
        help="写一份自包含的 HTML 报告（离线可打开，可逐条查看差异与引文）",
    )
    p.add_argument(
        "--baseline",
        metavar="RUN.json",
        type=Path,
        help="与之前的 JSON 结果比较：列出逐条回退与改进；有回退时退出码为 1",
    )
    p.add_argument(
        "--fail-under",
        metavar="METRIC=VALUE",
        action="append",
        default=[],
        help="指标低于该值时退出码为 1，如 rewrite.pass_rate=0.95、retrieval.hit@5=0.9"
        "（不带前缀的指标名作用于每一套）",
    )
    p.add_argument("--datasets", metavar="DIR", type=Path, help="数据集目录（默认 evals/datasets）")
    p.add_argument("--cassettes", metavar="DIR", type=Path, help="录制目录（默认 evals/cassettes）")
    p.add_argument(
        "--prices",
        metavar="FILE",
        type=Path,
        help="模型价格表（默认 evals/prices.yaml），用于估算费用",
    )


def suites_of(chosen: list[str] | None) -> list[str]:
    if not chosen or "all" in chosen:
        return list(SUITES)
    held = "heldout" in chosen
    dev = "dev" in chosen
    return [
        s
        for s in SUITES
        if s in chosen or (held and s.endswith("-heldout")) or (dev and "-" not in s)
    ]


def _progress() -> Callable[[str, str, bool], None]:
    """Cases done so far, on one line of stderr (LLM runs take a while)."""
    done: dict[str, int] = {}

    def show(suite: str, case_id: str, passed: bool) -> None:
        done[suite] = done.get(suite, 0) + 1
        print(f"\r{suite}: {done[suite]} 个用例…", end="", file=sys.stderr, flush=True)

    return show


def _write(path: Path, text: str) -> None:
    from drafter.errors import InputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"无法写入 {path}：{err.strerror or err}。") from None


def run(args: argparse.Namespace, app: Drafter) -> int:
    from drafter.evaluation import baseline as bl
    from drafter.evaluation import report, runner

    thresholds = [bl.parse_threshold(t) for t in args.fail_under]
    # Bad input fails before the run, not after minutes of model calls.
    previous = bl.load_run(args.baseline) if args.baseline else None
    live = args.engine != "offline" and sys.stderr.isatty()
    result = runner.run(
        suites_of(args.suite),
        args.engine,
        record=args.record,
        datasets_dir=args.datasets,
        cassettes=args.cassettes,
        prices=args.prices,
        progress=_progress() if live else None,
    )
    if live:
        print(file=sys.stderr)
    checked = bl.check_thresholds(result, thresholds) if thresholds else []
    comparison = bl.compare(result, previous, str(args.baseline)).to_dict() if previous else None
    if checked:
        result["thresholds"] = checked
    if comparison is not None:
        result["comparison"] = comparison
    if args.out:
        _write(args.out, runner.dumps(result))
    if args.report:
        _write(args.report, report.html_report(result, comparison, checked))
    if args.json:
        sys.stdout.write(runner.dumps(result))
    else:
        sys.stdout.write(report.text_summary(result, comparison, checked))
        if args.report:
            sys.stdout.write(f"HTML 报告：{args.report}\n")
    failed = bool(comparison and comparison["regressions"]) or any(not t["met"] for t in checked)
    if failed and args.json:
        reasons = []
        if comparison and comparison["regressions"]:
            reasons.append(f"{len(comparison['regressions'])} 个用例相对基线回退")
        reasons += [
            f"{t['metric']} = {t['value']} < {t['minimum']}" for t in checked if not t["met"]
        ]
        print(f"drafter eval: {'；'.join(reasons)}。", file=sys.stderr)
    return 1 if failed else 0
