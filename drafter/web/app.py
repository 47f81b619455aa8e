"""The Gradio app: rewrite, draft, knowledge and evaluation on one page.

``build_app()`` lays out the page and wires its events to ``drafter.web.handlers``; ``drafter.web.server.launch``
starts it. The named API endpoints ``/rewrite`` and ``/draft`` (``drafter.web.api``) return the JSON
contracts of DESIGN.md.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import gradio as gr

from drafter.core import Drafter
from drafter.web import api
from drafter.web import format as fmt
from drafter.web import handlers as h

TITLE = "回复助手"
LLM_CONCURRENCY = 16  # an LLM call mostly waits on the network

SAMPLE_DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？"
SAMPLE_MESSAGE = "我的订单 2024052188 三天了还没发货，你们怎么回事？"

# The one copy action of the rewrite tab: when phrases flagged or placeholders (【…】) are
# left in the final text (#rw-open says how many), the agent is asked first; then the text
# goes to the clipboard (with a fallback outside secure contexts) and the handler records the
# decisions. Cancelled, the handler gets COPY_CANCELLED instead of the text and records nothing.
COPY_CANCELLED = "\u0000drafter:copy-cancelled"
COPY_JS = """(text, ...rest) => {
  text = text || "";
  const open = document.querySelector("#rw-open .dr-open");
  const n = open ? parseInt(open.dataset.open || "0", 10) : 0;
  if (n > 0 && !window.confirm(`还有 ${n} 处未处理，仍要复制？`)) {
    return [CANCELLED, ...rest];
  }
  const fallback = () => {
    const ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed";
    ta.style.opacity = "0"; document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } finally { ta.remove(); }
  };
  try {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(fallback);
    } else { fallback(); }
  } catch (e) { fallback(); }
  return [text, ...rest];
}""".replace("CANCELLED", repr(COPY_CANCELLED).replace("'", '"'))

# The agent's draft and reply stay in the browser (localStorage) across a reload; a reply sent
# to the rewrite tab asks before it replaces a different draft there.
KEEP_JS = """(text) => { try { localStorage.setItem(KEY, text || ""); } catch (e) {} }"""
RESTORE_JS = (
    """() => { try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; } }"""
)
DRAFT_KEY, REPLY_KEY = "drafter.rewrite.draft", "drafter.draft.reply"
SEND_CANCELLED = "\u0000drafter:send-cancelled"
SEND_JS = """(reply) => {
  const box = document.querySelector("#rw-draft textarea");
  const there = box ? box.value : "";
  if (there.trim() && there !== reply && !window.confirm("改写页已有另一份草稿，要用这份回复替换它吗？")) {
    return [CANCELLED];
  }
  return [reply];
}""".replace("CANCELLED", repr(SEND_CANCELLED).replace("'", '"'))


def _keyed(js: str, key: str, box: str = "") -> str:
    return js.replace("KEY", repr(key).replace("'", '"')).replace("BOX", box)


SCROLL_TO_PASSAGE_JS = """() => {
  setTimeout(() => {
    const m = document.querySelector("#dr-passage");
    if (m) m.scrollIntoView({block: "center", behavior: "instant"});
  }, 50);
}"""


def _rewrite_tab(engine_info: tuple) -> dict:
    choices, info, llm_ok = engine_info
    c: dict = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            c["draft"] = gr.Textbox(
                label="草稿",
                lines=8,
                max_lines=20,
                elem_id="rw-draft",
                placeholder=f"把要发给客户的草稿粘贴在这里，例如：{SAMPLE_DRAFT}",
            )
            c["engine"] = gr.Radio(
                choices,
                value="auto",
                label="引擎",
                info=info,
                elem_id="rw-engine",
                elem_classes=[] if llm_ok else ["llm-off"],
            )
            c["run"] = gr.Button("改写", variant="primary", elem_id="rw-run")
            c["status"] = gr.HTML(elem_id="rw-status", elem_classes=["dr-status-msg"])
        with gr.Column(scale=1):
            # No copy icon here: what an agent copies is the final text, with their decisions
            # (复制最终稿); this box shows every change accepted.
            c["rewritten"] = gr.Textbox(
                label="改写结果（全部采纳）",
                lines=8,
                max_lines=20,
                interactive=False,
                elem_id="rw-rewritten",
            )
            c["summary"] = gr.HTML(elem_id="rw-summary")
    gr.Markdown("#### 修改对照")
    c["diff"] = gr.HTML(fmt.diff_html("", []), elem_id="rw-diff")
    gr.Markdown(
        "#### 改动　<small>取消勾选“采纳”即拒绝该处改动（表头的勾选框可全选），最终稿随即更新</small>"
    )
    c["changes"] = gr.Dataframe(
        headers=fmt.CHANGE_HEADERS,
        datatype=["bool", "number", "str", "str", "str", "str"],
        value=[],
        type="array",
        interactive=True,
        static_columns=[1, 2, 3, 4, 5],
        wrap=True,
        column_widths=["84px", "44px", "130px", "18%", "33%", "29%"],
        max_height=420,
        show_label=False,
        elem_id="rw-changes",
    )
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            c["final"] = gr.Textbox(
                label="最终稿（只含采纳的改动）",
                lines=4,
                max_lines=20,
                interactive=False,
                elem_id="rw-final",
            )
        with gr.Column(scale=1, min_width=200):
            c["copy"] = gr.Button("复制最终稿", variant="primary", elem_id="rw-copy")
            c["open"] = gr.HTML(elem_id="rw-open")
            c["copy_status"] = gr.HTML(elem_id="rw-copy-status")
    gr.Markdown("#### 需要人工处理的提示")
    c["flags"] = gr.HTML(fmt.flags_html([]), elem_id="rw-flags")
    with gr.Row(equal_height=False, elem_classes=["dr-cite-row"]):
        c["cite"] = gr.Dropdown(label="查看依据的原文", choices=[], scale=4, elem_id="rw-cite")
        c["open_cite"] = gr.Button("在知识库中查看", scale=1, min_width=160, elem_id="rw-open-cite")
    c["state"] = gr.State(None)
    return c


def _draft_tab(engine_info: tuple) -> dict:
    choices, info, llm_ok = engine_info
    c: dict = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            c["message"] = gr.Textbox(
                label="客户消息",
                lines=8,
                max_lines=20,
                elem_id="dr-message",
                placeholder=f"粘贴客户发来的消息，例如：{SAMPLE_MESSAGE}",
            )
            c["channel"] = gr.Radio(
                [("聊天", "chat"), ("邮件", "email")],
                value="chat",
                label="渠道",
                elem_id="dr-channel",
            )
            c["engine"] = gr.Radio(
                choices,
                value="auto",
                label="引擎",
                info=info,
                elem_id="dr-engine",
                elem_classes=[] if llm_ok else ["llm-off"],
            )
            c["run"] = gr.Button("起草回复", variant="primary", elem_id="dr-run")
            c["status"] = gr.HTML(elem_id="dr-status", elem_classes=["dr-status-msg"])
        with gr.Column(scale=1):
            c["reply"] = gr.Textbox(
                label="回复（可直接修改）",
                lines=12,
                max_lines=30,
                interactive=True,
                buttons=["copy"],
                elem_id="dr-reply",
            )
            c["summary"] = gr.HTML(elem_id="dr-summary")
            c["placeholders"] = gr.HTML(fmt.placeholders_html([]), elem_id="dr-placeholders")
            c["send"] = gr.Button("送去改写（语气检查）", elem_id="dr-send")
    gr.Markdown("#### 引用的手册段落")
    c["citations"] = gr.HTML(fmt.citations_html([]), elem_id="dr-citations")
    with gr.Row(equal_height=False, elem_classes=["dr-cite-row"]):
        c["cite"] = gr.Dropdown(label="查看依据的原文", choices=[], scale=4, elem_id="dr-cite")
        c["open_cite"] = gr.Button("在知识库中查看", scale=1, min_width=160, elem_id="dr-open-cite")
    return c


def _knowledge_tab() -> dict:
    c: dict = {}
    with gr.Row(equal_height=False, elem_classes=["dr-search-row"]):
        c["query"] = gr.Textbox(
            label="搜索手册",
            scale=5,
            elem_id="kb-query",
            placeholder="例如：客户很生气，一直在抱怨，应该先做什么？",
        )
        c["k"] = gr.Slider(
            1, 10, value=5, step=1, label="条数", scale=1, min_width=160, elem_id="kb-k"
        )
        c["search"] = gr.Button(
            "搜索", variant="primary", scale=0, min_width=120, elem_id="kb-search"
        )
    c["status"] = gr.HTML(elem_id="kb-status", elem_classes=["dr-status-msg"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            c["results"] = gr.HTML(elem_id="kb-results")
            c["pick"] = gr.Dropdown(label="打开段落所在的手册", choices=[], elem_id="kb-pick")
        with gr.Column(scale=1):
            c["manual"] = gr.Dropdown(
                label="手册", choices=h.manual_choices(), value=None, elem_id="kb-manual"
            )
            c["view"] = gr.HTML(elem_id="kb-view")
    with gr.Accordion("上传新手册", open=False, elem_id="kb-upload-box"):
        gr.Markdown(
            f"接受 .txt、.md、.html（UTF-8 或 GB18030），每个文件不超过 "
            f"{h.MAX_UPLOAD_BYTES // (1024 * 1024)} MB。网页会先清洗（去掉导航、广告、下载提示等），"
            "这里显示的是清洗后的纯文本；确认后加入知识库并重建索引，旧索引在新索引建好前照常使用。"
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                c["files"] = gr.File(
                    label="手册文件",
                    file_count="multiple",
                    file_types=[".txt", ".md", ".html", ".htm"],
                    elem_id="kb-files",
                )
                c["title"] = gr.Textbox(
                    label="标题（可选，只上传一个文件时有效）", elem_id="kb-title"
                )
                c["ingest"] = gr.Button(
                    "加入知识库并重建索引", variant="primary", elem_id="kb-ingest"
                )
                c["upload_status"] = gr.HTML(elem_id="kb-upload-status")
            with gr.Column(scale=2):
                c["preview"] = gr.Textbox(
                    label="清洗后的预览",
                    lines=14,
                    max_lines=30,
                    interactive=False,
                    elem_id="kb-preview",
                )
                c["dropped"] = gr.CheckboxGroup(
                    label="清洗时去掉的行（勾选误删的正文，它会保留下来）",
                    choices=[],
                    visible=False,
                    elem_id="kb-dropped",
                )
    gr.Markdown("#### 索引状态")
    c["index_status"] = gr.HTML(elem_id="kb-index-status")
    c["rebuild"] = gr.Button("重建索引", size="sm", scale=0, min_width=120, elem_id="kb-rebuild")
    return c


def _eval_tab(with_suite: bool) -> dict:
    c: dict = {}
    if with_suite:
        gr.Markdown(
            "#### 离线评测　<small>改写、起草、检索三套用例，用离线引擎运行，结果可逐条查看</small>"
        )
        with gr.Row(equal_height=False, elem_classes=["dr-small-buttons"]):
            c["run"] = gr.Button(
                "运行离线评测", variant="primary", scale=0, min_width=160, elem_id="ev-run"
            )
            c["only_failed"] = gr.Checkbox(
                label="只看未通过的用例",
                value=False,
                scale=0,
                min_width=200,
                elem_id="ev-only-failed",
            )
            c["report"] = gr.DownloadButton(
                "下载 HTML 报告", visible=False, scale=0, min_width=160, elem_id="ev-report"
            )
        c["status"] = gr.HTML(elem_id="ev-status", elem_classes=["dr-status-msg"])
        c["summary"] = gr.Dataframe(
            headers=h.SUMMARY_HEADERS,
            value=[],
            type="array",
            interactive=False,
            wrap=True,
            show_label=False,
            column_widths=["110px", "64px", "64px", "84px", "auto"],
            elem_id="ev-summary",
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                c["cases"] = gr.Dataframe(
                    headers=h.CASE_HEADERS,
                    value=[],
                    type="array",
                    interactive=False,
                    wrap=True,
                    max_height=480,
                    label="逐条结果（未通过的在前；点一行查看）",
                    column_widths=["104px", "120px", "64px", "auto"],
                    elem_id="ev-cases",
                )
            with gr.Column(scale=1):
                c["pick"] = gr.Dropdown(label="查看用例", choices=[], elem_id="ev-pick")
                c["case"] = gr.HTML(elem_id="ev-case")
        c["state"] = gr.State(None)
    gr.Markdown("#### 各规则的采纳率　<small>来自“改写”页：复制最终稿时记下的采纳与拒绝</small>")
    c["rates"] = gr.Dataframe(
        headers=fmt.ACCEPTANCE_HEADERS,
        value=[],
        type="array",
        interactive=False,
        show_label=False,
        elem_id="ev-rates",
    )
    c["refresh"] = gr.Button("刷新", size="sm", scale=0, min_width=96, elem_id="ev-refresh")
    c["rates_status"] = gr.HTML(elem_id="ev-rates-status")
    gr.Markdown(
        "用 `drafter feedback export --out evals/datasets/rewrite-feedback.jsonl` "
        "把反馈导出为改写评测用例。"
    )
    return c


class _Bound:
    """A module whose functions run with ``drafter``'s state active (gradio calls them in its
    worker threads, where no state is active otherwise); constants pass through."""

    def __init__(self, module: Any, drafter: Drafter) -> None:
        self._module, self._state = module, drafter.state

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not callable(value) or isinstance(value, type):
            return value
        state = self._state
        if inspect.isgeneratorfunction(value):

            @functools.wraps(value)
            def stream(*args: Any, **kwargs: Any) -> Any:
                # Gradio runs each step of a generator in a context of its own: the state is
                # made active for each step, never across a yield (a context variable set in
                # one context cannot be reset in another: every rewrite ended in an error).
                steps = value(*args, **kwargs)
                while True:
                    with state.active():
                        try:
                            item = next(steps)
                        except StopIteration:
                            return
                    yield item

            return stream

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with state.active():
                return value(*args, **kwargs)

        return call


def build_app(drafter: Drafter | None = None) -> gr.Blocks:
    """The whole page over ``drafter`` (the default one when None). Tabs whose capability is
    missing are not shown."""
    drafter = drafter if drafter is not None else Drafter.default()
    with drafter.state.active():
        return _build(_Bound(h, drafter), _Bound(api, drafter))


def _build(h: Any, api: Any) -> gr.Blocks:
    private = {"api_visibility": "private"}
    engine_info = h.engine_choices()
    from drafter.state import current

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        with gr.Row(equal_height=True, elem_classes=["dr-head"]):
            gr.Markdown(
                f"## {TITLE}　<small>按团队手册改写客服草稿、起草回复，每处修改都有依据</small>"
            )
            if current().settings.auth.strip():  # a login: and a way out of it
                gr.Button(
                    "退出登录",
                    link="/logout",
                    size="sm",
                    scale=0,
                    min_width=100,
                    elem_id="dr-logout",
                )
        with gr.Tabs(selected="rewrite", elem_id="dr-tabs") as tabs:
            with gr.Tab("改写", id="rewrite", elem_id="tab-rewrite"):
                rw = _rewrite_tab(engine_info)
            with gr.Tab("起草", id="draft", elem_id="tab-draft"):
                dr = _draft_tab(engine_info)
            with gr.Tab("知识库", id="knowledge", elem_id="tab-knowledge"):
                kb = _knowledge_tab()
            with gr.Tab("评测", id="eval", elem_id="tab-eval") as eval_tab:
                ev = _eval_tab(with_suite=h.eval_available())

        # ---- rewrite
        rewrite_outputs = [
            rw["rewritten"],
            rw["diff"],
            rw["changes"],
            rw["final"],
            rw["flags"],
            rw["summary"],
            rw["cite"],
            rw["state"],
            rw["copy"],
            rw["open"],
            rw["status"],
        ]
        assert len(rewrite_outputs) == h.REWRITE_OUTPUTS
        rewrite_event = dict(
            fn=h.on_rewrite,
            inputs=[rw["draft"], rw["engine"], rw["changes"], rw["state"]],
            outputs=rewrite_outputs,
            concurrency_limit=LLM_CONCURRENCY,
            concurrency_id="rewrite",
            show_progress="minimal",
            **private,
        )
        rw["run"].click(**rewrite_event)
        rw["draft"].submit(**rewrite_event)
        # Any change of the draft (typing, IME, paste, Backspace, undo: `.change`, not `.input`)
        # makes the results stale until it is rewritten again.
        rw["draft"].change(
            h.on_draft_changed,
            [rw["draft"], rw["changes"], rw["state"]],
            [rw["final"], rw["changes"], rw["copy"], rw["open"], rw["status"]],
            show_progress="hidden",
            trigger_mode="always_last",
            **private,
        )
        rw["changes"].input(
            h.on_toggle,
            [rw["changes"], rw["state"], rw["draft"]],
            [rw["final"], rw["diff"], rw["open"], rw["copy_status"]],
            show_progress="hidden",
            **private,
        )
        rw["copy"].click(
            h.on_copy_final,
            [rw["final"], rw["changes"], rw["state"], rw["draft"]],
            [rw["copy_status"]],
            js=COPY_JS,
            show_progress="hidden",
            **private,
        )

        # ---- draft
        draft_outputs = [
            dr["reply"],
            dr["citations"],
            dr["placeholders"],
            dr["summary"],
            dr["cite"],
            dr["status"],
        ]
        assert len(draft_outputs) == h.DRAFT_OUTPUTS
        dr["run"].click(
            h.on_draft,
            [dr["message"], dr["channel"], dr["engine"]],
            draft_outputs,
            concurrency_limit=LLM_CONCURRENCY,
            concurrency_id="draft",
            show_progress="minimal",
            **private,
        )
        dr["reply"].change(  # IME input, paste and Backspace too (`.input` is key presses only)
            h.on_reply_edit,
            [dr["reply"]],
            [dr["placeholders"]],
            show_progress="hidden",
            trigger_mode="always_last",
            **private,
        )
        dr["send"].click(
            h.send_to_rewrite,
            [dr["reply"]],
            [rw["draft"], tabs, rw["state"]],
            js=SEND_JS,
            **private,
        ).success(**rewrite_event)
        for box, key, elem in (
            (rw["draft"], DRAFT_KEY, "rw-draft"),
            (dr["reply"], REPLY_KEY, "dr-reply"),
        ):
            box.change(None, [box], None, js=_keyed(KEEP_JS, key), **private)
            app.load(None, None, [box], js=_keyed(RESTORE_JS, key, elem), **private)

        # ---- knowledge
        search_event = dict(
            fn=h.on_search,
            inputs=[kb["query"], kb["k"]],
            outputs=[kb["results"], kb["pick"], kb["status"]],
            **private,
        )
        for trigger in (kb["search"].click, kb["query"].submit):
            trigger(**search_event).success(
                h.open_passage, [kb["pick"]], [kb["manual"], kb["view"]], **private
            ).then(None, js=SCROLL_TO_PASSAGE_JS)
        kb["pick"].input(h.open_passage, [kb["pick"]], [kb["manual"], kb["view"]], **private).then(
            None, js=SCROLL_TO_PASSAGE_JS
        )
        kb["manual"].input(h.open_manual, [kb["manual"]], [kb["view"]], **private)
        for tab in (rw, dr):
            tab["open_cite"].click(
                h.open_citation, [tab["cite"]], [tabs, kb["manual"], kb["view"]], **private
            ).then(None, js=SCROLL_TO_PASSAGE_JS)
        kb["files"].upload(
            h.on_upload_preview,
            [kb["files"], kb["title"]],
            [kb["preview"], kb["upload_status"], kb["dropped"]],
            **private,
        )
        kb["dropped"].input(
            h.on_upload_preview,
            [kb["files"], kb["title"], kb["dropped"]],
            [kb["preview"], kb["upload_status"], kb["dropped"]],
            **private,
        )
        kb["ingest"].click(
            h.on_ingest,
            [kb["files"], kb["title"], kb["dropped"]],
            [kb["index_status"], kb["manual"], kb["upload_status"]],
            concurrency_limit=1,
            concurrency_id="index",
            **private,
        )
        kb["rebuild"].click(
            h.on_rebuild,
            None,
            [kb["index_status"], kb["status"]],
            concurrency_limit=1,
            concurrency_id="index",
            **private,
        )

        # ---- evaluation and feedback
        if "run" in ev:
            ev["run"].click(
                h.on_eval_run,
                [ev["only_failed"]],
                [ev["summary"], ev["cases"], ev["pick"], ev["report"], ev["state"], ev["status"]],
                concurrency_limit=1,
                concurrency_id="eval",
                **private,
            ).success(h.on_eval_case, [ev["state"], ev["pick"]], [ev["case"]], **private)
            ev["only_failed"].input(
                h.on_eval_filter,
                [ev["state"], ev["only_failed"]],
                [ev["cases"], ev["pick"]],
                **private,
            ).then(h.on_eval_case, [ev["state"], ev["pick"]], [ev["case"]], **private)
            ev["pick"].input(h.on_eval_case, [ev["state"], ev["pick"]], [ev["case"]], **private)
            ev["cases"].select(h.on_eval_row, [ev["state"]], [ev["pick"], ev["case"]], **private)
        ev["refresh"].click(h.acceptance_table, None, [ev["rates"], ev["rates_status"]], **private)
        eval_tab.select(h.acceptance_table, None, [ev["rates"], ev["rates_status"]], **private)

        app.load(h.index_status, None, [kb["index_status"]], **private)
        app.load(h.open_from_url, None, [tabs, kb["manual"], kb["view"]], **private).then(
            None, js=SCROLL_TO_PASSAGE_JS
        )

        # ---- the API (gradio_client, scripts, MCP tools)
        gr.api(
            api.rewrite,
            api_name="rewrite",
            concurrency_limit=LLM_CONCURRENCY,
            concurrency_id="api_rewrite",
        )
        gr.api(
            api.draft,
            api_name="draft",
            concurrency_limit=LLM_CONCURRENCY,
            concurrency_id="api_draft",
        )
    api.serve_stateless(app)
    return app
