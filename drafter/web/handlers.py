"""The app's event handlers: check input, call the library, shape the result for the page.

No business logic: rewriting, drafting, retrieval, ingest, indexing and feedback all live in
``drafter``. Errors become a visible message (a toast and a status line); the agent's text
is never overwritten on failure, and no traceback reaches the page.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from drafter import feedback
from drafter.drafting.composer import placeholders_in
from drafter.drafting.pack import load_pack
from drafter.engines import registry as engines
from drafter.engines.llm.rewriting import stream_rewrite
from drafter.engines.registry import draft
from drafter.errors import DrafterError, InputError
from drafter.evaluation import report, runner
from drafter.knowledge.corpus import get_corpus, load_manuals
from drafter.knowledge.ingest import clean_file, ingest
from drafter.retrieval.hybrid import search
from drafter.retrieval.index import build_index, status
from drafter.text import decode as textio
from drafter.types import (
    RewriteResult,
    apply_changes,
    carry_decisions,
    expand_decisions,
    group_changes,
)
from drafter.web import format as fmt

log = logging.getLogger("drafter.ui")

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # also launch(max_file_size=...): refused before it is stored
MAX_UPLOAD_FILES = 10


def problem(err: BaseException) -> str:
    """One sentence for the page; unexpected errors are logged with their traceback."""
    if isinstance(err, DrafterError):
        return str(err)
    log.exception("unexpected error in a UI handler")
    return f"内部错误（{type(err).__name__}），已记入服务器日志；您的文字没有丢失，请稍后重试。"


def fail(err: BaseException, n_outputs: int) -> tuple:
    """Leave every output as it is except the status line (the last output)."""
    message = problem(err)
    gr.Warning(message, title="注意")
    return (*([gr.skip()] * (n_outputs - 1)), fmt.status_html(message))


# ---------------------------------------------------------------- rewrite


@dataclass
class Judged:
    """The rewrite on the page and the id its feedback is stored under."""

    result: RewriteResult
    feedback_id: str


def engine_choices() -> tuple[list[tuple[str, str]], str, bool]:
    """(choices, info line, llm available) for the engine selector."""
    ok, reason = engines.llm_configured()
    choices = [(engines.ENGINES[n].label, n) for n in engines.names(interactive=True)]
    if ok:
        info = "自动：已配置大模型，默认用大模型；失败时退回离线规则。"
    else:
        info = f"大模型不可用：{reason}"
    return choices, info, ok


def accepted_from(rows: Any, n: int) -> list[bool]:
    """The 采纳 column of the change table (any shape gradio hands back), padded to ``n``."""
    if rows is None:
        values: list = []
    elif hasattr(rows, "values") and hasattr(rows, "columns"):  # a pandas DataFrame
        values = rows.iloc[:, 0].tolist() if len(rows.columns) else []
    elif isinstance(rows, dict):
        values = [r[0] for r in rows.get("data", [])]
    else:
        values = [r[0] if isinstance(r, (list, tuple)) and r else r for r in rows]
    out = [
        v is True
        or (isinstance(v, str) and v.strip().lower() in ("true", "1", "✓"))
        or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 1)
        for v in values[:n]
    ]
    return out + [True] * (n - len(out))


def decisions(rows: Any, result: RewriteResult) -> list[bool]:
    """Per-change decisions from the change table, whose rows are groups of identical changes."""
    groups = group_changes(result.changes)
    return expand_decisions(groups, accepted_from(rows, len(groups)), len(result.changes))


def _final(result: RewriteResult, accepted: list[bool]) -> str:
    return apply_changes(result.original, [c for c, a in zip(result.changes, accepted) if a])


def _summary(result: RewriteResult, seconds: float | None) -> str:
    counts = f"改动 {len(result.changes)} 处，提示 {len(result.flags)} 处"
    return (
        f'{fmt.engine_badge(result.engine, seconds)} <span class="dr-engine">· {counts}</span>'
        + fmt.warnings_html(result.warnings)
    )


def _citation_choices(citations) -> list[tuple[str, str]]:
    """Dropdown choices for the cited passages: label, and value ``passage_id<TAB>quote``."""
    seen: dict[str, str] = {}
    for c in citations:
        if c is not None:
            seen.setdefault(
                f"{c.passage_id}\t{c.quote}", f"《{c.source}》{c.quote} [{c.passage_id}]"
            )
    return [(label, value) for value, label in seen.items()]


# rewritten, diff, changes, final, flags, summary, cites, state, copy button, open items, status
REWRITE_OUTPUTS = 11
COPY_CANCELLED = "\u0000drafter:copy-cancelled"  # what the copy button's script sends instead
# A placeholder inside a line (我们会在【处理时间】前回复您); one opening a line is a label.
INLINE_PLACEHOLDER = re.compile(r"(?<=[^\s])【[^】\n]{1,30}】")


def open_items(final: str, result: RewriteResult) -> str:
    """What is still to be handled in the final text: flagged phrases still in it and
    placeholders (【…】) inside a line, the composer's kind (a 【通话记录】 or 【客户】 opening a
    line is a label, not a blank)."""
    flags = sum(1 for f in result.flags if f.text and f.text in final)
    holes = INLINE_PLACEHOLDER.findall(final)
    return fmt.open_items_html(flags, holes)


STALE = (
    "草稿已修改，下面的结果是旧草稿的：请重新改写（已拒绝的改动会保留）。在此之前不能勾选或复制。"
)


def is_stale(draft: str | None, judged: Judged | None) -> bool:
    """Whether the results on the page belong to another draft than the one in the box."""
    return judged is not None and (draft or "") != judged.result.original


def rewrite_outputs(
    result: RewriteResult, seconds: float | None, accepted: list[bool] | None = None
) -> tuple:
    accepted = accepted if accepted is not None else [True] * len(result.changes)
    cites = _citation_choices(
        [c.citation for c in result.changes] + [f.citation for f in result.flags]
    )
    kept = sum(not a for a in accepted)
    note = (
        fmt.status_html(f"已保留上次的决定：{kept} 处改动仍为“不采纳”。", ok=True) if kept else ""
    )
    return (
        result.rewritten,
        fmt.diff_html(result.original, result.changes, accepted, result.flags),
        gr.update(value=fmt.change_rows(result.changes, accepted), interactive=True),
        _final(result, accepted),
        fmt.flags_html(result.flags),
        _summary(result, seconds),
        gr.update(choices=cites, value=cites[0][1] if cites else None),
        Judged(result, feedback.new_id()),
        gr.update(interactive=True),
        open_items(_final(result, accepted), result),
        note,
    )


def _carried(result: RewriteResult, rows: Any, judged: Judged | None) -> list[bool] | None:
    """The agent's decisions on the previous rewrite, carried over to this one."""
    if judged is None or rows is None:
        return None
    try:
        before = decisions(rows, judged.result)
    except Exception:  # noqa: BLE001 - a table that does not fit: start afresh
        return None
    return carry_decisions(judged.result.changes, before, result.changes)


def on_draft_changed(draft: str, rows: Any, judged: Judged | None):
    """The draft box changed (typing, IME, paste, undo): results of another draft go stale;
    the final text and copying come back when the draft is the rewritten one again."""
    if judged is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if is_stale(draft, judged):
        return (
            "",
            gr.update(interactive=False),
            gr.update(interactive=False),
            "",
            fmt.status_html(STALE),
        )
    result = judged.result
    final = _final(result, decisions(rows, result))
    return (
        final,
        gr.update(interactive=True),
        gr.update(interactive=True),
        open_items(final, result),
        "",
    )


def on_rewrite(text: str, engine: str, rows: Any = None, judged: Judged | None = None):
    """Rewrite the draft; a streamed LLM rewrite shows as it arrives, then the validated result.

    Run again (after the agent edited the draft), the changes the agent had rejected stay
    rejected (``carry_decisions``)."""
    t0 = time.perf_counter()
    try:
        textio.check_text(text)
        if engines.resolve(engine or "auto") == "llm":
            result = None
            for item in stream_rewrite(text):
                if isinstance(item, RewriteResult):
                    result = item
                    break
                # Text still arriving has not been checked (facts, meaning guard, citations):
                # it is shown in the status line, marked so; the result boxes (and their copy
                # buttons) stay empty until the checked result replaces it.
                yield (
                    "",
                    gr.skip(),
                    gr.skip(),
                    "",
                    gr.skip(),
                    gr.skip(),
                    gr.skip(),
                    None,
                    gr.update(interactive=False),
                    "",
                    fmt.streaming_html(item),
                )
            if result is None:
                raise InputError("大模型没有返回结果，请重试或改用离线规则。")
        else:
            result = engines.rewrite(text, engine or "auto")
    except Exception as err:  # noqa: BLE001 - the edge: every error becomes a message
        yield fail(err, REWRITE_OUTPUTS)
        return
    yield rewrite_outputs(result, time.perf_counter() - t0, _carried(result, rows, judged))


def on_toggle(rows: Any, judged: Judged | None, draft: str | None = None):
    """Apply only the accepted changes: the final text and the diff follow the table at once."""
    if judged is None:
        return gr.skip(), gr.skip(), gr.skip(), ""
    if draft is not None and is_stale(draft, judged):  # never a final text of an old draft
        return "", gr.skip(), "", fmt.status_html(STALE)
    try:
        result = judged.result
        accepted = decisions(rows, result)
        final = _final(result, accepted)
        return (
            final,
            fmt.diff_html(result.original, result.changes, accepted, result.flags),
            open_items(final, result),
            "",
        )
    except Exception as err:  # noqa: BLE001
        return fail(err, 4)


def on_copy_final(final: str, rows: Any, judged: Judged | None, draft: str | None = None):
    """Record the agent's decisions and the final text (the text is copied in the browser)."""
    if final == COPY_CANCELLED:
        return fmt.status_html("没有复制：请先处理提示和占位符。", ok=True)
    if draft is not None and is_stale(draft, judged):
        return fmt.status_html(STALE)
    if judged is None or not judged.result.changes:
        return fmt.status_html("已复制。" if final else "", ok=True)
    try:
        result = judged.result
        accepted = decisions(rows, result)
        feedback.record(
            result.original,
            result.rewritten,
            result.engine,
            result.changes,
            accepted,
            feedback_id=judged.feedback_id,
        )
    except Exception as err:  # noqa: BLE001
        return fail(err, 1)[-1]
    kept = sum(accepted)
    waiting = feedback.pending()
    later = f"（反馈库正忙，{waiting} 条反馈暂存在本机，稍后自动写入）" if waiting else ""
    return fmt.status_html(
        f"已复制最终稿，并记下反馈：采纳 {kept} 处，拒绝 {len(accepted) - kept} 处。{later}",
        ok=True,
    )


# ---------------------------------------------------------------- draft


DRAFT_OUTPUTS = 6  # reply, citations, placeholders, summary, cites, status


def on_draft(message: str, channel: str, engine: str) -> tuple:
    t0 = time.perf_counter()
    try:
        textio.check_text(message, what="客户消息")

        result = draft(message, channel or "chat", engine or "auto")
    except Exception as err:  # noqa: BLE001
        return fail(err, DRAFT_OUTPUTS)
    seconds = time.perf_counter() - t0
    cites = _citation_choices(result.citations)
    facts = "；".join(f"{f.kind}：{f.text}" for f in result.facts)
    # The customer's issues as found, the unsure ones marked: the agent checks the reply
    # answers what was asked.
    issues = "；".join(
        f"{n}. {i.label}" + ("（不确定）" if i.confidence < 0.6 and i.runner_up else "")
        for n, i in enumerate(result.issues, 1)
    )
    info = (
        f'{fmt.engine_badge(result.engine, seconds)} <span class="dr-engine">· 情况：'
        f"{fmt._e(situation_label(result.situation))}"
        f"{' · 诉求：' + fmt._e(issues) if issues else ''}"
        f"{' · 事实：' + fmt._e(facts) if facts else ''}</span>"
        + fmt.warnings_html(result.warnings)
    )
    return (
        result.reply,
        fmt.citations_html(result.citations),
        fmt.placeholders_html(result.placeholders),
        info,
        gr.update(choices=cites, value=cites[0][1] if cites else None),
        "",
    )


def situation_label(sid: str) -> str:

    try:
        return f"{load_pack().situation(sid).label}（{sid}）"
    except Exception:  # noqa: BLE001 - a label is a nicety; the id is still shown
        return sid


def on_reply_edit(reply: str) -> str:

    return fmt.placeholders_html(placeholders_in(reply or ""))


SEND_CANCELLED = "\u0000drafter:send-cancelled"  # the agent kept the rewrite tab's own draft


def send_to_rewrite(reply: str):
    """The reply goes to the rewrite tab (which then runs); an empty reply goes nowhere."""
    if reply == SEND_CANCELLED:
        return gr.skip(), gr.skip(), gr.skip()
    if not reply or not reply.strip():
        gr.Warning("回复是空的：请先起草或填写回复。", title="注意")
        return gr.skip(), gr.skip(), gr.skip()
    # The rewrite tab's results belong to the draft it had: they go with it.
    return reply, gr.Tabs(selected="rewrite"), None


# ---------------------------------------------------------------- knowledge


SEARCH_OUTPUTS = 3  # results, pick, status


def on_search(query: str, k: float) -> tuple:
    try:
        hits = search(query or "", int(k or 5), restate=True)
    except Exception as err:  # noqa: BLE001
        return fail(err, SEARCH_OUTPUTS)
    choices = [(f"{i}. 《{p.source}》 {p.passage_id}", p.passage_id) for i, p in enumerate(hits, 1)]
    return (
        fmt.passages_html(hits),
        gr.update(choices=choices, value=choices[0][1] if choices else None),
        "",
    )


def manual_choices() -> list[tuple[str, str]]:

    try:
        return [(f"《{m.title}》", m.slug) for m in load_manuals()]
    except Exception as err:  # noqa: BLE001
        problem(err)
        return []


def open_passage(passage_id: str | None, quote: str | None = None) -> tuple:
    """(manual dropdown value, manual HTML) with the passage highlighted."""
    if not passage_id:
        return gr.skip(), gr.skip()

    corpus = get_corpus()
    p = corpus.by_id.get(passage_id)
    if p is None:
        gr.Warning(f"找不到段落 {passage_id}：手册可能已更新，请重新搜索。", title="注意")
        return gr.skip(), gr.skip()
    manual = corpus.by_slug[p.slug]
    return p.slug, fmt.manual_html(manual.title, manual.text, p.start, p.end, quote)


def open_citation(choice: str | None) -> tuple:
    """Switch to the knowledge tab with the cited passage (and its quote) highlighted."""
    if not choice:
        gr.Warning("没有可查看的依据。", title="注意")
        return gr.skip(), gr.skip(), gr.skip()
    passage_id, _, quote = choice.partition("\t")
    slug, html = open_passage(passage_id, quote or None)
    return gr.Tabs(selected="knowledge"), slug, html


def open_from_url(request: gr.Request) -> tuple:
    """A link to a passage (``/?passage=<id>&quote=…``, the LanguageTool API's rule URLs):
    the knowledge tab with that passage, and its quote, highlighted."""
    params = request.query_params if request is not None else {}
    passage_id = params.get("passage")
    if not passage_id:
        return gr.skip(), gr.skip(), gr.skip()
    slug, html = open_passage(passage_id, params.get("quote") or None)
    return gr.Tabs(selected="knowledge"), slug, html


def open_manual(slug: str | None) -> str:
    if not slug:
        return ""

    manual = get_corpus().by_slug.get(slug)
    if manual is None:
        return fmt.status_html(f"找不到手册 {slug}。")
    return fmt.manual_html(manual.title, manual.text)


def _upload_paths(files: Any) -> list[Path]:
    if not files:
        raise InputError("请先选择要上传的手册文件（.txt、.md、.html）。")
    items = files if isinstance(files, list) else [files]
    if len(items) > MAX_UPLOAD_FILES:
        raise InputError(f"一次最多上传 {MAX_UPLOAD_FILES} 个文件。")
    paths = [Path(f.name if hasattr(f, "name") else f) for f in items]
    for p in paths:
        if p.stat().st_size > MAX_UPLOAD_BYTES:
            raise InputError(f"文件 {p.name} 超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB 上限。")
    return paths


def _dropped_choices(reports: list[tuple[str, Any]], keep: list[str]) -> Any:
    """The lines the cleaner left out, to tick the ones to keep (already kept ones ticked)."""
    choices: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, m in reports:
        for d in m.dropped:
            if d.text in seen:
                continue
            seen.add(d.text)
            where = f"第 {d.line} 行" if d.line else "网页块"
            text = d.text if len(d.text) <= 60 else d.text[:58] + "……"
            choices.append((f"{name} {where} · {d.reason}：{text}", d.text))
    for line in keep:
        if line not in seen:
            text = line if len(line) <= 60 else line[:58] + "……"
            choices.append((f"已保留：{text}", line))
    return gr.update(choices=choices, value=[line for line in keep if line], visible=bool(choices))


def on_upload_preview(files: Any, title: str, keep: list[str] | None = None) -> tuple:
    """Clean each uploaded manual and show the text that would be indexed (never raw HTML),
    and every line left out with its reason, to tick the ones to keep."""
    keep = [line for line in keep or [] if line]
    try:
        paths = _upload_paths(files)
        parts, reports = [], []
        for p in paths:
            m = clean_file(
                p, (title or "").strip() or None if len(paths) == 1 else None, frozenset(keep)
            )
            reports.append((p.name, m))
            parts.append(
                f"=== 《{m.title}》（{p.name}，{len(m.text)} 字，保留 {m.kept_lines} 行、去掉 "
                f"{len(m.dropped)} 行；来源网站：{m.source_site or '未知'}）===\n{m.text}"
            )
    except Exception as err:  # noqa: BLE001
        return "", fmt.status_html(problem(err)), gr.update(choices=[], value=[], visible=False)
    dropped = sum(len(m.dropped) for _, m in reports)
    return (
        "\n\n".join(parts),
        fmt.status_html(
            f"已清洗 {len(paths)} 个文件，去掉 {dropped} 行（下方列出原因，勾选误删的正文即可保留）；"
            "确认无误后点击“加入知识库并重建索引”。",
            ok=True,
        ),
        _dropped_choices(reports, keep),
    )


def on_ingest(files: Any, title: str, keep: list[str] | None = None) -> tuple:
    """Add the uploaded manuals (with the lines the owner ticked to keep) and rebuild the
    index (the old index serves until it is done)."""
    try:
        paths = _upload_paths(files)
        reports = ingest(
            paths,
            title=(title or "").strip() or None if len(paths) == 1 else None,
            keep=frozenset(line for line in keep or [] if line),
        )
        report = build_index()
    except Exception as err:  # noqa: BLE001
        gr.Warning(problem(err), title="注意")
        return gr.skip(), gr.skip(), fmt.status_html(problem(err))
    names = "、".join(f"《{r.title}》" for r in reports)
    return (
        fmt.index_status_html(status()),
        gr.update(choices=manual_choices()),
        fmt.status_html(
            f"已加入 {names}；索引已更新：手册 {report.manuals} 份，段落 {report.passages} 条。",
            ok=True,
        ),
    )


def on_rebuild() -> tuple:
    try:
        report = build_index(rebuild=True)
    except Exception as err:  # noqa: BLE001
        return gr.skip(), fmt.status_html(problem(err))
    return fmt.index_status_html(status()), fmt.status_html(
        f"索引已重建：手册 {report.manuals} 份，段落 {report.passages} 条，用时 {report.seconds:.1f} 秒。",
        ok=True,
    )


def index_status() -> str:
    try:
        return fmt.index_status_html(status())
    except Exception as err:  # noqa: BLE001
        return fmt.status_html(problem(err))


# ---------------------------------------------------------------- feedback


def acceptance_table() -> tuple:
    try:
        rates = feedback.acceptance()
        n = feedback.count()
    except Exception as err:  # noqa: BLE001
        return gr.skip(), fmt.status_html(problem(err))
    if not n:
        return [], fmt.status_html(
            "还没有反馈：在“改写”页采纳或拒绝改动后点击“复制最终稿”即会记录。", ok=True
        )
    return fmt.acceptance_rows(rates), fmt.status_html(f"共 {n} 条反馈。", ok=True)


# ---------------------------------------------------------------- evaluation


def eval_available() -> bool:
    """True when the eval harness (runner and HTML report) is installed."""
    return callable(getattr(runner, "run", None)) and callable(getattr(report, "html_report", None))


EVAL_OUTPUTS = 6  # summary, cases, pick, report file, state, status
SUMMARY_HEADERS = ["评测集", "用例", "通过", "通过率", "主要指标"]
CASE_HEADERS = ["评测集", "用例", "结果", "未通过的原因"]
_KEY_METRICS = {
    "rewrite": ("rule_f1", "expected_match", "facts_kept", "citations_verbatim"),
    "draft": ("situation_accuracy", "steps_complete", "facts_referenced", "tone_held"),
    "retrieval": ("hit@5", "mrr", "ndcg@5"),
}


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def on_eval_run(only_failed: bool):
    """Run the offline suites; the summary, per-case results and the HTML report to download."""

    try:
        run = runner.run(engine="offline")
        html = report.html_report(run)
        # Under the system temp folder, which gradio serves for downloads (DRAFTER_HOME may not be).
        fd, path = tempfile.mkstemp(prefix="drafter-eval-", suffix=".html")
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
    except Exception as err:  # noqa: BLE001
        return fail(err, EVAL_OUTPUTS)
    summary = []
    for suite, figures in run["summary"].items():
        keys = ", ".join(
            f"{k} {_num(figures[k])}"
            for k in _KEY_METRICS.get(suite.partition("-")[0], ())
            if figures.get(k) is not None
        )
        summary.append(
            [
                suite,
                figures.get("cases"),
                figures.get("passed"),
                f"{figures.get('pass_rate') or 0:.1%}",
                keys,
            ]
        )
    rows, choices = eval_case_rows(run, only_failed)
    return (
        summary,
        rows,
        gr.update(choices=choices, value=choices[0][1] if choices else None),
        gr.update(value=path, visible=True),
        run,
        fmt.status_html(f"评测完成：用时 {run['timing']['total_s']:.1f} 秒。", ok=True),
    )


def eval_case_rows(run: dict | None, only_failed: bool) -> tuple[list[list], list[tuple[str, str]]]:
    rows: list[list] = []
    choices: list[tuple[str, str]] = []
    if not run:
        return rows, choices
    for suite, result in run["results"].items():
        for c in result["cases"]:
            if only_failed and c.get("passed"):
                continue
            rows.append([suite, c["id"], c.get("status", ""), "；".join(c.get("failures", []))])
            choices.append((f"{suite} / {c['id']}（{c.get('status', '')}）", f"{suite}/{c['id']}"))
    # Failures first: that is what an evaluator drills into.
    order = sorted(range(len(rows)), key=lambda i: rows[i][2] == "pass")
    return [rows[i] for i in order], [choices[i] for i in order]


def on_eval_filter(run: dict | None, only_failed: bool) -> tuple:
    rows, choices = eval_case_rows(run, only_failed)
    return rows, gr.update(choices=choices, value=choices[0][1] if choices else None)


def on_eval_row(run: dict | None, evt: gr.SelectData) -> tuple:
    """A click on a row of the per-case table opens that case."""
    row = evt.row_value or []
    if len(row) < 2:
        return gr.skip(), gr.skip()
    key = f"{row[0]}/{row[1]}"
    return key, on_eval_case(run, key)


def on_eval_case(run: dict | None, key: str | None) -> str:
    if not run or not key:
        return ""
    suite, _, case_id = key.partition("/")
    for c in run["results"].get(suite, {}).get("cases", []):
        if c["id"] == case_id:
            return fmt.eval_case_html(suite, c)
    return fmt.status_html(f"找不到用例 {key}。")
