"""`drafter serve`: start the Gradio app (rewrite, draft, knowledge, evaluation)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drafter.core import Drafter

NAME = "serve"
HELP = "启动网页应用（改写、起草、知识库、评测）；默认只在本机 127.0.0.1:7860 上提供"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="监听地址（默认 127.0.0.1，只有本机能访问；0.0.0.0 对局域网开放，请同时设置 DRAFTER_AUTH）",
    )
    p.add_argument("--port", type=int, default=7860, help="端口（默认 7860）")
    p.add_argument(
        "--mcp",
        action="store_true",
        help="同时把 /rewrite 和 /draft 作为 MCP 工具提供（Gradio 内置 MCP 服务器，需安装 gradio[mcp]）",
    )


def run(args: argparse.Namespace, app: Drafter) -> int:
    import sys
    import time

    from drafter.errors import DrafterError

    t0 = time.perf_counter()
    if args.mcp:
        try:
            import mcp  # noqa: F401 - the gradio[mcp] extra
        except ImportError:
            raise DrafterError(
                "--mcp 需要 gradio 的 mcp 组件：请运行 pip install 'gradio[mcp]'。"
            ) from None
    from drafter.web.app import build_app  # imports gradio
    from drafter.web.server import auth_from_env, launch, warm_up

    auth = auth_from_env()  # a malformed DRAFTER_AUTH stops here, before anything listens
    if args.host not in ("127.0.0.1", "localhost", "::1") and not auth:
        print("drafter: 注意：应用对本机以外开放，但没有设置 DRAFTER_AUTH 登录。", file=sys.stderr)
    warm_up(app)
    page = build_app(app)
    print(
        f"回复助手：http://{args.host}:{args.port}/（准备用时 {time.perf_counter() - t0:.1f} 秒；"
        f"LanguageTool 接口 http://{args.host}:{args.port}/v2/；Ctrl+C 退出）",
        file=sys.stderr,
    )
    try:
        launch(page, args.host, args.port, mcp=args.mcp, quiet=True, drafter=app)
    except OSError as err:
        raise DrafterError(f"无法在 {args.host}:{args.port} 上启动：{err}。") from None
    return 0
