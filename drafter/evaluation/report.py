"""Show a run: a terminal summary, or one self-contained HTML file.

The HTML page has no external assets and no script (the failure filter is a CSS checkbox),
so it opens offline anywhere; every text of the run is escaped (drafts may hold <script>).
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Container
from typing import Any

from drafter.evaluation import textcompare as tc

# Figures shown in the summary line of each suite, in order: (key, label).
KEY_FIGURES = {
    "rewrite": [
        ("expected_match", "expected"),
        ("rule_precision", "rule P"),
        ("rule_recall", "rule R"),
        ("flag_recall", "flag R"),
        ("targets_removed", "targets"),
        ("facts_kept", "facts"),
        ("traps_avoided", "traps"),
        ("citations_verbatim", "citations"),
        ("idempotent", "idempotent"),
        ("unchanged", "unchanged"),
    ],
    "draft": [
        ("situation_accuracy", "situation"),
        ("steps_complete", "steps"),
        ("facts_referenced", "facts"),
        ("citations_verbatim", "citations"),
        ("tone_held", "tone"),
        ("chat_shorter", "chat<email"),
        ("issue_topic_recall", "issues found"),
        ("issues_addressed", "addressed"),
        ("slots_carried", "slots"),
    ],
    "retrieval": [
        ("hit@5", "hit@5"),
        ("hit@1", "hit@1"),
        ("mrr", "MRR"),
        ("ndcg@5", "nDCG@5"),
        ("hit@5_traditional", "hit@5（繁体提问）"),
    ],
    "rewrite-heldout": [
        ("must_not_contain", "targets gone"),
        ("must_contain", "kept"),
        ("spans_flagged", "flagged"),
        ("spans_not_flagged", "not flagged"),
        ("compliant_untouched", "compliant"),
        ("false_flags_compliant", "false flags"),
        ("facts_kept", "facts"),
        ("idempotent", "idempotent"),
    ],
    "draft-heldout": [
        ("issue_topic_recall", "issues found"),
        ("issue_topic_precision", "issue precision"),
        ("issues_addressed", "addressed"),
        ("slots_carried", "slots"),
        ("name_used", "name"),
        ("insults_not_echoed", "no insult"),
        ("injections_not_obeyed", "no injection"),
        ("citations_verbatim", "citations"),
        ("tone_held", "tone"),
    ],
}
KEY_FIGURES["retrieval-heldout"] = KEY_FIGURES["retrieval"]
KEY_FIGURES["cleaning"] = KEY_FIGURES["cleaning-heldout"] = [
    ("content_kept", "content kept"),
    ("chrome_removed", "chrome removed"),
    ("content_lines_lost", "lines lost"),
]


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, n: int, right: bool = False) -> str:
    gap = " " * max(0, n - _width(s))
    return gap + s if right else s + gap


def _table(rows: list[list[str]], right: Container[int] = frozenset()) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(_pad(c, widths[i], i in right) for i, c in enumerate(r)).rstrip() for r in rows
    ]


def _f(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.1f}%"


def text_summary(
    run: dict,
    comparison: dict | None = None,
    thresholds: list[dict] | None = None,
    max_failures: int = 50,
) -> str:
    """The terminal summary: per suite, per rule, failures with ids, baseline and thresholds."""
    out: list[str] = []
    total = sum(s["cases"] for s in run["summary"].values())
    model = f" ({run['model']})" if run.get("model") else ""
    out.append(
        f"drafter eval · 引擎 {run['engine']}{model} · {total} 个用例 · "
        f"{run['timing']['total_s']:.1f} 秒"
    )
    out.append("")
    rows = [["suite", "cases", "passed", "pass rate", "p50 ms", "p95 ms", "figures"]]
    for suite, s in run["summary"].items():
        t = run["timing"]["suites"][suite]
        figures = " · ".join(
            f"{label} {_f(s.get(k))}"
            for k, label in KEY_FIGURES.get(suite, [])
            if s.get(k) is not None
        )
        rows.append(
            [
                suite,
                str(s["cases"]),
                str(s["passed"]),
                _pct(s["pass_rate"]),
                _f(t["p50_ms"], 1),
                _f(t["p95_ms"], 1),
                figures,
            ]
        )
    out += _table(rows, right={1, 2, 3, 4, 5})

    rewrite = run["results"].get("rewrite")
    if rewrite and rewrite.get("per_rule"):
        out.append("")
        rows = [["rule", "changes P", "R", "tp/fp/fn", "flags P", "R", "tp/fp/fn"]]
        for rule, r in rewrite["per_rule"].items():
            ch, fl = r["changes"], r["flags"]
            rows.append(
                [
                    rule,
                    _f(ch["precision"]),
                    _f(ch["recall"]),
                    f"{ch['tp']}/{ch['fp']}/{ch['fn']}",
                    _f(fl["precision"]),
                    _f(fl["recall"]),
                    f"{fl['tp']}/{fl['fp']}/{fl['fn']}",
                ]
            )
        out += _table(rows, right={1, 2, 4, 5})
    draft = run["results"].get("draft")
    if draft and draft.get("per_step"):
        out.append("")
        out.append(
            "draft steps: "
            + " · ".join(
                f"{k} {v['present']}/{v['expected']}" for k, v in draft["per_step"].items()
            )
        )
    if run.get("usage"):
        u = run["usage"]
        cost = (
            f"{u['cost']:.4f} {u['currency']}"
            if u.get("cost") is not None
            else "未知（价格表里没有该模型）"
        )
        out.append("")
        out.append(
            f"tokens: prompt {u['prompt_tokens']} · completion {u['completion_tokens']} · 估算费用 {cost}"
        )
    if run.get("problems") and any(run["problems"].values()):
        p = run["problems"]
        out.append(
            f"未评分或回退：missing {p['missing']} · stale {p['stale']} · fallback {p['fallback']} · error {p['error']}"
        )

    odd = [
        (suite, c)
        for suite, res in run["results"].items()
        for c in res["cases"]
        if c["passed"] and c.get("status") not in ("pass", "fail")
    ]
    for suite, c in odd:
        out.append(f"  {suite}/{c['id']}  [{c['status']}]  {c.get('note', '')}")
    failures = [
        (suite, c) for suite, res in run["results"].items() for c in res["cases"] if not c["passed"]
    ]
    out.append("")
    if failures:
        out.append(f"失败 {len(failures)} 个：")
        for suite, c in failures[:max_failures]:
            reasons = "；".join(c.get("failures", [])) or c.get("status", "")
            out.append(f"  {suite}/{c['id']}  [{c.get('status')}]  {reasons}")
        if len(failures) > max_failures:
            out.append(f"  ……另有 {len(failures) - max_failures} 个（见 --json 或 --report）")
    else:
        out.append("全部通过。")

    if comparison is not None:
        out.append("")
        out.append(
            f"与基线 {comparison['baseline']} 比较：回退 {len(comparison['regressions'])} · "
            f"改进 {len(comparison['improvements'])} · 新增 {len(comparison['added'])} · "
            f"移除 {len(comparison['removed'])}"
        )
        for note in comparison["notes"]:
            out.append(f"  注意：{note}")
        for r in comparison["regressions"]:
            out.append(f"  回退 {r['suite']}/{r['id']}  {'；'.join(r['failures'])}")
        for r in comparison["improvements"]:
            out.append(f"  改进 {r['suite']}/{r['id']}")
        moved = [(k, v) for k, v in comparison["metrics"].items() if v["delta"]]
        for k, v in moved:
            out.append(f"  {k}: {_f(v['before'], 4)} → {_f(v['after'], 4)} ({v['delta']:+.4f})")
    if thresholds:
        out.append("")
        for t in thresholds:
            mark = "达标" if t["met"] else "未达标"
            out.append(f"阈值 {t['metric']} ≥ {t['minimum']}: {_f(t['value'], 4)}  {mark}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222;max-width:1200px}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}
.case{border:1px solid #ddd;border-radius:4px;margin:.3rem 0;padding:.2rem .5rem}
.case>summary{cursor:pointer}.case.fail{border-left:4px solid #c62828}.case.pass{border-left:4px solid #2e7d32}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;color:#fff;background:#2e7d32}
.badge.fail,.badge.missing,.badge.stale,.badge.error{background:#c62828}.badge.fallback{background:#ef6c00}
.tag{display:inline-block;background:#eee;border-radius:3px;padding:0 .3rem;margin-left:.2rem;font-size:.8rem}
.text{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;padding:.4rem;font-family:inherit;margin:.2rem 0}
del{background:#ffd7d5;text-decoration:line-through}ins{background:#c8f7c5;text-decoration:none}
.why{color:#c62828}.muted{color:#777}.cite{font-size:.9rem;color:#444}
#only-failed:checked~section .case.pass{display:none}
#only-failed:checked+label{background:#fde7e7}
label.filter{cursor:pointer;position:sticky;top:0;display:inline-block;background:#fff;padding:.3rem;border:1px solid #ccc;border-radius:4px}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _diff_html(a: str, b: str) -> str:
    parts = []
    for op, text in tc.diff(a, b):
        t = _e(text)
        parts.append(t if op == "=" else (f"<del>{t}</del>" if op == "-" else f"<ins>{t}</ins>"))
    return "".join(parts)


def _cite_html(c: dict | None) -> str:
    if not c:
        return '<span class="muted">无引文</span>'
    return (
        f'<span class="cite">《{_e(c.get("source"))}》 [{_e(c.get("passage_id"))}]：'
        f"“{_e(c.get('quote'))}”</span>"
    )


def _kv_table(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td class=num>{_e(_f(v, 4))}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


def _checks_html(checks: dict) -> str:
    cells = []
    for name, value in checks.items():
        if value is None:
            continue
        mark = "✓" if value else "✗"
        cells.append(f'<span class="{"" if value else "why"}">{_e(name)} {mark}</span>')
    return " · ".join(cells)


def _case_rewrite(c: dict) -> str:
    out = [f'<div>草稿</div><div class="text">{_e(c.get("text"))}</div>']
    if "output" in c:
        out.append(
            f'<div>改写（与草稿的差异）</div><div class="text">{_diff_html(c["text"], c["output"])}</div>'
        )
        if c.get("expected") is not None and c["expected"] != c["output"]:
            out.append(
                f'<div>期望 → 实际</div><div class="text">{_diff_html(c["expected"], c["output"])}</div>'
            )
        if c.get("changes"):
            rows = "".join(
                f"<tr><td>{_e(ch['rule'])}</td><td>{_e(ch['before'])} → {_e(ch['after']) or '（删去）'}</td>"
                f"<td>{_e(ch['explanation'])}<br>{_cite_html(ch.get('citation'))}</td></tr>"
                for ch in c["changes"]
            )
            out.append(
                f"<table><tr><th>规则</th><th>改动</th><th>说明与依据</th></tr>{rows}</table>"
            )
        if c.get("flags"):
            rows = "".join(
                f"<tr><td>{_e(f['rule'])}</td><td>{_e(f['text'])}</td>"
                f"<td>{_e(f['message'])}<br>{_cite_html(f.get('citation'))}</td></tr>"
                for f in c["flags"]
            )
            out.append(
                f"<table><tr><th>提示规则</th><th>原文</th><th>说明与依据</th></tr>{rows}</table>"
            )
        r = c.get("rules", {})
        out.append(
            f'<div class="muted">期望规则 {_e(", ".join(r.get("expected", [])) or "-")} · '
            f"实际 {_e(', '.join(r.get('fired', [])) or '-')}</div>"
        )
    return "".join(out)


def _case_draft(c: dict) -> str:
    out = [
        f'<div>客户消息（{_e(c.get("channel"))}）</div><div class="text">{_e(c.get("text"))}</div>'
    ]
    if "output" in c:
        out.append(f'<div>回复</div><div class="text">{_e(c["output"])}</div>')
        out.append(
            f'<div class="muted">情况 {_e(c.get("situation_found"))}（期望 {_e(c.get("situation") or "-")}）'
            f" · 步骤 {_e(', '.join(c.get('steps_present', [])))}（期望 {_e(', '.join(c.get('expected_steps', [])))}）"
            f" · 长度 {_e(c.get('lengths'))}</div>"
        )
        if c.get("citations"):
            out.append(
                "<ul>" + "".join(f"<li>{_cite_html(x)}</li>" for x in c["citations"]) + "</ul>"
            )
    return "".join(out)


def _case_retrieval(c: dict) -> str:
    return (
        f'<div>问题</div><div class="text">{_e(c.get("text"))}</div>'
        f"<div>相关片段：{'；'.join(_e(r) for r in c.get('relevant', []))}</div>"
        f'<div class="muted">排名 {_e(c.get("rank") or "-")} · RR {_e(c.get("rr"))} · nDCG@5 {_e(c.get("ndcg@5"))}'
        f" · 前 5：{_e(', '.join(c.get('top', [])))}</div>"
    )


def _case_cleaning(c: dict) -> str:
    return (
        f'<div>页面</div><div class="text">{_e(c.get("where"))}：{_e(c.get("text"))}</div>'
        f'<div class="muted">正文保留 {_e(c.get("content_kept"))} · 站点杂项去除 '
        f"{_e(c.get('chrome_removed'))}</div>"
    )


_DRILL = {
    "rewrite": _case_rewrite,
    "draft": _case_draft,
    "retrieval": _case_retrieval,
    "cleaning": _case_cleaning,
}


def _case_html(suite: str, c: dict, latency: float | None) -> str:
    state = "pass" if c["passed"] else "fail"
    tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in c.get("tags", []))
    why = "".join(f'<li class="why">{_e(w)}</li>' for w in c.get("failures", []))
    warnings = "".join(f"<li>{_e(w)}</li>" for w in c.get("warnings", []))
    usage = c.get("usage")
    usage_html = (
        (
            f" · tokens {usage['prompt_tokens']}+{usage['completion_tokens']}"
            f" · cost {_e(_f(usage.get('cost'), 6))}"
        )
        if usage
        else ""
    )
    return (
        f'<details class="case {state}" id="{_e(suite)}-{_e(c["id"])}"{"" if c["passed"] else " open"}><summary>'
        f'<span class="badge {_e(c.get("status"))}">{_e(c.get("status"))}</span> '
        f'<b>{_e(c["id"])}</b>{tags} <span class="muted">{_e(c.get("where"))}'
        f"{' · ' + _e(_f(latency, 1)) + ' ms' if latency is not None else ''}{usage_html}</span></summary>"
        f"{'<ul>' + why + '</ul>' if why else ''}"
        f"<div>{_checks_html(c.get('checks', {}))}</div>"
        f"{'<div class=muted>' + _e(c.get('note')) + '</div>' if c.get('note') else ''}"
        f"{_DRILL[suite.partition('-')[0]](c)}"
        f"{'<div>提示：</div><ul>' + warnings + '</ul>' if warnings else ''}"
        "</details>"
    )


def html_report(
    run: dict, comparison: dict | None = None, thresholds: list[dict] | None = None
) -> str:
    """One self-contained HTML page: summary, per-rule figures, per-case drill-down."""
    total = sum(s["cases"] for s in run["summary"].values())
    head = (
        f"引擎 {_e(run['engine'])}{' (' + _e(run['model']) + ')' if run.get('model') else ''} · "
        f"{total} 个用例 · {run['timing']['total_s']:.1f} 秒"
    )
    body = [f"<h1>drafter 评测报告</h1><p>{head}</p>"]
    rows = "".join(
        f"<tr><td><a href='#suite-{_e(s)}'>{_e(s)}</a></td><td class=num>{v['cases']}</td>"
        f"<td class=num>{v['passed']}</td><td class=num>{_pct(v['pass_rate'])}</td>"
        f"<td class=num>{_e(_f(run['timing']['suites'][s]['p50_ms'], 1))}</td>"
        f"<td class=num>{_e(_f(run['timing']['suites'][s]['p95_ms'], 1))}</td></tr>"
        for s, v in run["summary"].items()
    )
    body.append(
        "<h2>总览</h2><table><tr><th>suite</th><th>cases</th><th>passed</th><th>pass rate</th>"
        f"<th>p50 ms</th><th>p95 ms</th></tr>{rows}</table>"
    )
    if run.get("usage"):
        u = run["usage"]
        body.append(
            f"<p>tokens：prompt {u['prompt_tokens']} · completion {u['completion_tokens']} · "
            f"估算费用 {_e(_f(u.get('cost'), 4))} {_e(u.get('currency') or '')}</p>"
        )
    if thresholds:
        rows = "".join(
            f"<tr><td>{_e(t['metric'])}</td><td class=num>{_e(t['minimum'])}</td>"
            f"<td class=num>{_e(_f(t['value'], 4))}</td><td>{'达标' if t['met'] else '<b class=why>未达标</b>'}</td></tr>"
            for t in thresholds
        )
        body.append(
            f"<h2>阈值</h2><table><tr><th>指标</th><th>下限</th><th>值</th><th></th></tr>{rows}</table>"
        )
    if comparison is not None:
        items = "".join(
            f"<li class=why>回退 <a href='#{_e(r['suite'])}-{_e(r['id'])}'>{_e(r['suite'])}/{_e(r['id'])}</a>："
            f"{_e('；'.join(r['failures']))}</li>"
            for r in comparison["regressions"]
        )
        items += "".join(
            f"<li>改进 {_e(r['suite'])}/{_e(r['id'])}</li>" for r in comparison["improvements"]
        )
        items += "".join(f"<li class=muted>{_e(n)}</li>" for n in comparison["notes"])
        moved = "".join(
            f"<tr><td>{_e(k)}</td><td class=num>{_e(_f(v['before'], 4))}</td>"
            f"<td class=num>{_e(_f(v['after'], 4))}</td><td class=num>{_e(v['delta'])}</td></tr>"
            for k, v in comparison["metrics"].items()
            if v["delta"]
        )
        body.append(
            f"<h2>与基线比较（{_e(comparison['baseline'])}）</h2><ul>{items or '<li>没有变化</li>'}</ul>"
            + (
                f"<table><tr><th>指标</th><th>基线</th><th>本次</th><th>变化</th></tr>{moved}</table>"
                if moved
                else ""
            )
        )
    failed = [
        (suite, c) for suite, res in run["results"].items() for c in res["cases"] if not c["passed"]
    ]
    items = "".join(
        f"<li><a href='#{_e(suite)}-{_e(c['id'])}'>{_e(suite)}/{_e(c['id'])}</a> "
        f"<span class=why>{_e('；'.join(c.get('failures', [])))}</span></li>"
        for suite, c in failed
    )
    body.append(f"<h2>失败的用例（{len(failed)}）</h2><ul>{items or '<li>全部通过</li>'}</ul>")
    body.append(
        '<input type="checkbox" id="only-failed" hidden>'
        '<label class="filter" for="only-failed">☐ 只看失败的用例（点击切换）</label>'
    )
    for suite, res in run["results"].items():
        s = run["summary"][suite]
        timings = run["timing"]["suites"][suite]["cases"]
        parts = [
            f"<section id='suite-{_e(suite)}'><h2>{_e(suite)}</h2>",
            _kv_table([(k, v) for k, v in s.items()]),
        ]
        if res.get("per_rule"):
            rows = "".join(
                f"<tr><td>{_e(rule)}</td>"
                + "".join(
                    f"<td class=num>{_e(_f(r[kind][m]))}</td>"
                    for kind in ("changes", "flags")
                    for m in ("precision", "recall", "tp", "fp", "fn")
                )
                + "</tr>"
                for rule, r in res["per_rule"].items()
            )
            parts.append(
                "<table><tr><th>规则</th><th>改动 P</th><th>R</th><th>tp</th><th>fp</th><th>fn</th>"
                f"<th>提示 P</th><th>R</th><th>tp</th><th>fp</th><th>fn</th></tr>{rows}</table>"
            )
        if res.get("per_step"):
            rows = "".join(
                f"<tr><td>{_e(k)}</td><td class=num>{v['present']}/{v['expected']}</td></tr>"
                for k, v in res["per_step"].items()
            )
            parts.append(f"<table><tr><th>步骤</th><th>出现/期望</th></tr>{rows}</table>")
        if res.get("per_tag"):
            rows = "".join(
                f"<tr><td>{_e(k)}</td><td class=num>{v['passed']}/{v['n']}</td></tr>"
                for k, v in res["per_tag"].items()
            )
            parts.append(f"<details><summary>按标签</summary><table>{rows}</table></details>")
        parts += [_case_html(suite, c, timings.get(c["id"])) for c in res["cases"]]
        parts.append("</section>")
        body.append("".join(parts))
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>drafter 评测报告</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
