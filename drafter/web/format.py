"""HTML fragments for the app: diffs, changes, flags, citations, passages, manuals.

Everything that comes from a user, a manual or a model is escaped here (``_e``), so a
``<script>`` or an ``onerror=`` in a draft or a model reply shows as text and never runs.
No function here decides anything: they only render what the library returned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher
from html import escape

from drafter.types import Change, Citation, Flag, Passage, group_changes


def _e(text: object) -> str:
    """Escape text for HTML content and attribute values alike."""
    return escape("" if text is None else str(text), quote=True)


def _empty(message: str) -> str:
    return f'<p class="dr-empty">{_e(message)}</p>'


def citation_text(c: Citation | None) -> str:
    """One line naming the manual, the quote and the passage id (plain text)."""
    if c is None:
        return "（手册中未找到依据）"
    return f"《{c.source}》“{c.quote}” [{c.passage_id}]"


def citation_html(c: Citation | None) -> str:
    if c is None:
        return '<span class="dr-nocite">手册中未找到依据</span>'
    return (
        f'<span class="dr-cite"><span class="dr-src">《{_e(c.source)}》</span>'
        f"<q>{_e(c.quote)}</q> <code>{_e(c.passage_id)}</code></span>"
    )


# ---------------------------------------------------------------- the rewrite diff


def diff_html(
    original: str,
    changes: Sequence[Change],
    accepted: Sequence[bool] | None = None,
    flags: Sequence[Flag] = (),
) -> str:
    """The draft with each change shown in place: accepted as deletion + insertion, rejected
    as the kept original (dotted), flags marked. Spans are offsets into ``original``."""
    if not original:
        return _empty("改写后，这里会逐处标出删去和加入的文字。")
    if accepted is None:
        accepted = [True] * len(changes)
    marks: list[tuple[int, int, str]] = []
    for i, (c, ok) in enumerate(zip(changes, accepted), 1):
        if ok:
            ins = f'<ins title="{_e(c.rule)}">{_e(c.after)}</ins>' if c.after else ""
            dele = f'<del title="{_e(c.rule)}">{_e(c.before)}</del>' if c.before else ""
            body = f'{dele}{ins}<sup class="dr-n">{i}</sup>'
        else:
            body = (
                f'<span class="dr-rejected" title="未采纳：{_e(c.rule)}">{_e(c.before)}</span>'
                f'<sup class="dr-n">{i}</sup>'
            )
        marks.append((c.start, c.end, body))
    taken = [(s, e) for s, e, _ in marks]
    for f in flags:
        if any(s < f.end and f.start < e for s, e in taken) or f.start >= f.end:
            continue  # a flag inside a change is listed below, not drawn twice
        body = (
            f'<mark class="dr-flag" title="{_e(f.message)}">{_e(original[f.start : f.end])}</mark>'
        )
        marks.append((f.start, f.end, body))
        taken.append((f.start, f.end))
    out, pos = [], 0
    for start, end, body in sorted(marks, key=lambda m: (m[0], m[1])):
        if start < pos:
            continue  # overlapping spans cannot be drawn; the table still lists them
        out.append(_e(original[pos:start]))
        out.append(body)
        pos = end
    out.append(_e(original[pos:]))
    legend = (
        '<div class="dr-legend"><del>删去</del> <ins>加入</ins> '
        '<span class="dr-rejected">未采纳</span> <mark class="dr-flag">需人工处理</mark></div>'
    )
    return f'<div class="dr-diff" id="dr-diff-body">{"".join(out)}</div>{legend}'


def text_diff_html(before: str, after: str) -> str:
    """A character diff of two texts (eval results: expected against actual)."""
    sm = SequenceMatcher(None, before, after, autojunk=False)
    out = []
    for op, a1, a2, b1, b2 in sm.get_opcodes():
        if op == "equal":
            out.append(_e(before[a1:a2]))
            continue
        if a2 > a1:
            out.append(f"<del>{_e(before[a1:a2])}</del>")
        if b2 > b1:
            out.append(f"<ins>{_e(after[b1:b2])}</ins>")
    return f'<div class="dr-diff">{"".join(out)}</div>'


def rule_label(rule: str) -> str:
    """What an agent reads for a rule: its description in the rule pack without the examples
    in brackets (称呼客户用“您”，不用“你”), else the id (a rule of a model, say)."""
    try:
        from drafter.rules.pack import get_pack

        description = get_pack().by_id(rule).description
    except Exception:  # noqa: BLE001 - an unknown rule keeps its id
        return rule
    return re.sub(r"（[^）]*）", "", description).strip() or rule


def change_rows(changes: Sequence[Change], accepted: Sequence[bool] | None = None) -> list[list]:
    """Rows of the change table, one per group of identical changes (你 → 您 ×22, accepted or
    rejected together): [采纳, #, 规则, 原文 → 改为, 说明, 依据] (plain text cells)."""
    if accepted is None:
        accepted = [True] * len(changes)
    rows = []
    for i, g in enumerate(group_changes(changes), 1):
        after = g.after if g.after else "（删去）"
        times = f" ×{g.count}" if g.count > 1 else ""
        ok = all(accepted[k] for k in g.indices)
        rows.append(
            [
                ok,
                i,
                rule_label(g.rule),
                f"{g.before} → {after}{times}",
                g.explanation,
                citation_text(g.citation),
            ]
        )
    return rows


CHANGE_HEADERS = ["采纳", "#", "规则", "原文 → 改为", "说明", "依据（手册与引文）"]


def flags_html(flags: Sequence[Flag]) -> str:
    if not flags:
        return _empty("没有需要人工处理的提示。")
    items = []
    for f in flags:
        suggestion = (
            f'<div class="dr-suggest">建议：{_e(f.suggestion)}</div>' if f.suggestion else ""
        )
        items.append(
            f'<li class="dr-flag-item"><div><mark class="dr-flag">{_e(f.text)}</mark> '
            f'<span class="dr-rule" title="{_e(f.rule)}">{_e(rule_label(f.rule))}</span></div>'
            f"<div>{_e(f.message)}</div>{suggestion}"
            f'<div class="dr-cite-line">依据：{citation_html(f.citation)}</div></li>'
        )
    return f'<ol class="dr-flags">{"".join(items)}</ol>'


def warnings_html(warnings: Iterable[str]) -> str:
    items = [f"<li>{_e(w)}</li>" for w in warnings]
    return f'<ul class="dr-warnings">{"".join(items)}</ul>' if items else ""


def engine_badge(engine: str, seconds: float | None = None) -> str:
    took = f" · {seconds * 1000:.0f} ms" if seconds is not None else ""
    return f'<span class="dr-engine">引擎：{_e(engine)}{_e(took)}</span>'


# ---------------------------------------------------------------- drafting


def citations_html(citations: Sequence[Citation]) -> str:
    if not citations:
        return _empty("这份回复没有引用手册。")
    items = "".join(f"<li>{citation_html(c)}</li>" for c in citations)
    return f'<ol class="dr-citations">{items}</ol>'


def open_items_html(flags: int, placeholders: Sequence[str]) -> str:
    """What the final text still needs before it is sent; ``data-open`` is read by the copy
    button, which asks before copying while it is not 0."""
    n = flags + len(placeholders)
    if not n:
        return '<div class="dr-open" data-open="0"></div>'
    parts = []
    if flags:
        parts.append(f"提示 {flags} 处")
    if placeholders:
        chips = "".join(f'<span class="dr-ph">{_e(p)}</span>' for p in placeholders)
        parts.append(f"未填写的占位符 {len(placeholders)} 处：{chips}")
    return f'<div class="dr-open" data-open="{n}" role="status">发送前还有 {n} 处未处理：{"；".join(parts)}</div>'


def placeholders_html(placeholders: Sequence[str]) -> str:
    if not placeholders:
        return _empty("没有待填写的占位符。")
    chips = "".join(f'<span class="dr-ph">{_e(p)}</span>' for p in placeholders)
    return f'<div class="dr-phs">发送前请填写：{chips}</div>'


# ---------------------------------------------------------------- knowledge


def passages_html(passages: Sequence[Passage]) -> str:
    if not passages:
        return _empty("没有找到相关段落。")
    items = []
    for p in passages:
        items.append(
            f'<li class="dr-hit"><div class="dr-hit-head"><span class="dr-src">《{_e(p.source)}》</span>'
            f'<code>{_e(p.passage_id)}</code> <span class="dr-score">{p.score:.3f}</span></div>'
            f'<div class="dr-hit-text">{_e(p.text)}</div></li>'
        )
    return f'<ol class="dr-hits">{"".join(items)}</ol>'


def manual_html(
    title: str,
    text: str,
    start: int | None = None,
    end: int | None = None,
    quote: str | None = None,
) -> str:
    """A manual's text with one passage (``text[start:end]``) highlighted, and the quote in it."""
    head = f'<h3 class="dr-manual-title">《{_e(title)}》</h3>'
    if start is None or end is None or not (0 <= start <= end <= len(text)):
        return f'{head}<div class="dr-manual">{_e(text)}</div>'
    passage = text[start:end]
    q = passage.find(quote) if quote else -1
    if quote and q >= 0:
        inner = (
            f'{_e(passage[:q])}<strong class="dr-quote">{_e(quote)}</strong>'
            f"{_e(passage[q + len(quote) :])}"
        )
    else:
        inner = _e(passage)
    return (
        f'{head}<div class="dr-manual">{_e(text[:start])}'
        f'<mark class="dr-passage" id="dr-passage">{inner}</mark>{_e(text[end:])}</div>'
    )


def index_status_html(st: dict) -> str:
    if st.get("damage") and not st.get("built"):
        return _empty(f"{st['damage']} 点击“重建索引”修复。")
    if not st.get("built"):
        return _empty("还没有索引：点击“重建索引”，或在命令行运行 drafter index。")
    titles = st.get("titles") or {}
    listed = "".join(
        f"<li>《{_e(t)}》 <code>{_e(s)}</code></li>" for s, t in sorted(titles.items())
    )
    server = f"<div>Chroma 服务器：{_e(st['server'])}</div>" if st.get("server") else ""
    damage = (
        f'<div class="dr-warnings" role="alert">索引已损坏：{_e(st["damage"])}。'
        "点击“重建索引”修复。</div>"
        if st.get("damage")
        else ""
    )
    return (
        f'<div class="dr-status"><div>手册 <b>{int(st["manuals"])}</b> 份，段落 '
        f"<b>{int(st['passages'])}</b> 条，建于 {_e(st.get('built_at'))}"
        f"（{_e(st.get('embedder', ''))}）</div>{server}{damage}"
        f'<ul class="dr-titles">{listed}</ul></div>'
    )


# ---------------------------------------------------------------- feedback


def acceptance_rows(rates) -> list[list]:
    """Rows [规则, 采纳, 拒绝, 采纳率] of the per-rule acceptance table."""
    return [[r.rule, r.accepted, r.rejected, f"{r.rate:.0%}"] for r in rates]


ACCEPTANCE_HEADERS = ["规则", "采纳", "拒绝", "采纳率"]


# ---------------------------------------------------------------- evaluation


def _cite_dict(c: dict | None) -> str:
    if not c:
        return citation_html(None)
    return citation_html(
        Citation(str(c.get("source", "")), str(c.get("passage_id", "")), str(c.get("quote", "")))
    )


def eval_case_html(suite: str, c: dict) -> str:
    """One eval case: what went in, what came out (as a diff against what was expected), why."""
    status = _e(c.get("status", ""))
    head = (
        f'<div class="dr-case-head"><span class="dr-badge dr-{status}">{status}</span> '
        f"<b>{_e(suite)} / {_e(c.get('id'))}</b> <code>{_e(c.get('where', ''))}</code></div>"
    )
    failures = "".join(f"<li>{_e(f)}</li>" for f in c.get("failures", []))
    parts = [head, f'<ul class="dr-failures">{failures}</ul>' if failures else ""]
    text = c.get("text", "")
    if suite == "rewrite":
        parts.append(f'<div class="dr-label">草稿</div><div class="dr-diff">{_e(text)}</div>')
        if "output" in c:
            expected = c.get("expected")
            if expected is not None and expected != c["output"]:
                parts.append(
                    '<div class="dr-label">期望 → 实际</div>'
                    + text_diff_html(expected, c["output"])
                )
            parts.append(
                '<div class="dr-label">草稿 → 改写</div>' + text_diff_html(text, c["output"])
            )
            rows = "".join(
                f"<li><code>{_e(ch.get('rule'))}</code> {_e(ch.get('before'))} → "
                f"{_e(ch.get('after')) or '（删去）'}：{_e(ch.get('explanation'))} "
                f"{_cite_dict(ch.get('citation'))}</li>"
                for ch in c.get("changes", [])
            )
            if rows:
                parts.append(f'<ol class="dr-flags">{rows}</ol>')
            rules = c.get("rules", {})
            parts.append(
                f'<div class="dr-cite">期望规则 {_e(", ".join(rules.get("expected", [])) or "-")}'
                f" · 实际 {_e(', '.join(rules.get('fired', [])) or '-')}</div>"
            )
    elif suite == "draft":
        parts.append(
            f'<div class="dr-label">客户消息（{_e(c.get("channel"))}）</div>'
            f'<div class="dr-diff">{_e(text)}</div>'
        )
        if "output" in c:
            parts.append(
                f'<div class="dr-label">回复</div><div class="dr-diff">{_e(c["output"])}</div>'
            )
            parts.append(
                f'<div class="dr-cite">情况 {_e(c.get("situation_found"))}（期望 '
                f"{_e(c.get('situation') or '-')}）· 步骤 {_e(', '.join(c.get('steps_present', [])))}"
                f"（期望 {_e(', '.join(c.get('expected_steps', [])))}）</div>"
            )
    else:
        parts.append(
            f'<div class="dr-label">问题</div><div class="dr-diff">{_e(text)}</div>'
            f'<div class="dr-cite">相关片段：{_e("；".join(c.get("relevant", [])))} · 排名 '
            f"{_e(c.get('rank') or '未进前列')} · 前几条：{_e(', '.join(c.get('top', [])))}</div>"
        )
    return "".join(parts)


def streaming_html(text: str) -> str:
    """A model's rewrite as it arrives: visibly not yet checked, outside the copyable boxes."""
    return (
        '<div class="dr-ok" role="status"><p>大模型正在改写……以下文字尚未校验，不能复制；'
        "完成后会换成校验过的结果。</p>"
        f'<p class="dr-unchecked" style="opacity:.6">{_e(text)}</p></div>'
    )


def status_html(message: str, ok: bool = False) -> str:
    """A visible one-line status: an error in red, or a confirmation."""
    if not message:
        return ""
    cls = "dr-ok" if ok else "dr-error"
    return f'<p class="{cls}" role="status">{_e(message)}</p>'
