"""`drafter`: the command line. It parses, calls the library, prints; nothing more."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from drafter.core import Drafter
from drafter.errors import DrafterError
from drafter.settings import SETTINGS, Settings

# Each command lives in drafter/cli/commands/<name>.py with NAME, HELP, add_arguments(),
# run(args, app), where app is the Drafter this command builds.
COMMANDS = ["ingest", "index", "search", "rewrite", "check", "draft", "eval", "feedback", "serve"]


def _settings_epilog() -> str:

    lines = ["settings (environment variables):"]
    for s in SETTINGS.values():
        default = f" [default: {s.default}]" if s.default else ""
        lines.append(f"  {s.name:<26} {s.help}{default}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drafter",
        description="回复助手：按团队手册改写客服草稿、起草回复，每处修改都有依据。",
        epilog=_settings_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"drafter.cli.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"drafter.cli.commands.{name}":
                continue  # a capability that is not there yet is not offered
            raise
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _progress(message: str, fraction: float | None = None) -> None:
    """The library's progress, as one line on stderr (it never prints itself)."""
    done = f" {fraction:.0%}" if fraction is not None else ""
    print(f"drafter: {message}{done}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    # Make stdout/stderr UTF-8 whatever the locale: the output is Chinese.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    if sys.stdout is None:  # started with stdout closed (`>&-`): the result would be lost
        print("drafter: 标准输出已关闭，结果无法写出（stdout is closed）。", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        app = Drafter(Settings.from_env(), progress=_progress)
        with app.state.active():  # library code reached by the command sees this instance
            return int(args._run(args, app) or 0)
    except DrafterError as err:
        print(f"drafter: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("drafter: 已中断（interrupted）。", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:  # a file system problem outside our own checks: one sentence
        where = f"：{err.filename}" if getattr(err, "filename", None) else ""
        print(
            f"drafter: 文件系统错误（{err.strerror or type(err).__name__}）{where}", file=sys.stderr
        )
        return 2
    except Exception as err:
        if os.environ.get("DRAFTER_DEBUG"):
            raise
        print(
            f"drafter: 内部错误（{type(err).__name__}: {err}）。设置 DRAFTER_DEBUG=1 可查看详情。",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
