"""The rewrite suite: each draft of rewrite*.jsonl through an engine, then checked.

Checks of one case (a check that does not apply is ``None``; a case passes when none fails):

- ``expected``: the rewrite equals the expected text (Chinese-aware: NFKC, width folding);
- ``unchanged``: a draft whose expected text is itself comes back byte for byte;
- ``must_contain`` / ``must_not_contain``;
- ``rules``: the rules whose changes were expected fired, and no other rule changed the text;
- ``flags``: every expected flag was raised;
- ``targets``: no mandated target is left (the pack's rewrite rules find nothing more);
- ``facts``: every fact of the draft (order numbers, amounts, dates, phones, URLs, names) is
  still there verbatim;
- ``traps``: 迷你, 尽可能, 不可能, 可能性 … survive, and nothing like 是是什么 is created;
- ``citations``: every citation's quote is verbatim in the passage it names;
- ``idempotent``: rewriting the rewrite changes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from drafter.evaluation import rows
from drafter.evaluation import textcompare as tc
from drafter.evaluation.datasets import Case, Dataset
from drafter.knowledge.corpus import get_corpus
from drafter.rules.engine import analyse
from drafter.rules.pack import get_pack
from drafter.text.facts import fact_spans

CHECKS = (
    "expected",
    "unchanged",
    "must_contain",
    "must_not_contain",
    "rules",
    "flags",
    "targets",
    "facts",
    "traps",
    "citations",
    "idempotent",
    # held-out cases (rewrite-heldout.jsonl) only:
    "compliant",
    "flagged",
    "not_flagged",
)

# Words a naive replace breaks: each occurrence in the draft must survive in the rewrite.
TRAP_WORDS = ("迷你", "你追我赶", "你来我往", "尽可能", "儘可能", "盡可能", "不可能", "可能性")
# Idioms that need a different fix: the rewrite must not turn them into these.
TRAP_IDIOMS = {
    "这就是为什么": ("是是什么", "就是是什么"),
    "這就是為什麼": ("是是什麼", "就是是什麼"),
    "这也是为什么": ("是是什么",),
    "這也是為什麼": ("是是什麼",),
}
# Never created by a rewrite where the draft had none.
FORBIDDEN = ("是是", "您您")


def must_contain(text: str, needle: str) -> bool:
    """Verbatim, else Chinese-aware (a needle of layout only, such as \\r\\n, is verbatim)."""
    return needle in text or (bool(tc.normalize(needle)) and tc.contains(text, needle))


def trap_problems(original: str, output: str) -> list[str]:
    problems = []
    for word in TRAP_WORDS:
        if output.count(word) < original.count(word):
            problems.append(f"“{word}”被改动")
    for idiom, bad in TRAP_IDIOMS.items():
        if idiom in original:
            problems += [
                f"“{idiom}”被改成了“{b}”" for b in bad if output.count(b) > original.count(b)
            ]
    for made in FORBIDDEN:
        if output.count(made) > original.count(made):
            problems.append(f"改出了“{made}”")
    return sorted(set(problems))


def _occurrences(text: str, span: str) -> list[tuple[int, int]]:
    out, at = [], text.find(span)
    while at >= 0:
        out.append((at, at + len(span)))
        at = text.find(span, at + 1)
    return out


def _heldout_checks(case: Case, result: Any, checks: dict, why: list[str]) -> None:
    """The held-out properties: a compliant draft untouched, spans flagged or left alone."""
    text = case["text"]
    flags = [(f.start, f.end) for f in result.flags]

    def flagged(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in flags)

    if case["compliant"]:
        checks["compliant"] = not result.changes and not result.flags
        if result.changes:
            why.append(f"compliant: 合规草稿被改动了 {len(result.changes)} 处")
        if result.flags:
            why += [f"compliant: 合规草稿被提示“{f.text}”（{f.rule}）" for f in result.flags]
    if case["flag_spans"]:
        missed = [
            s
            for s in case["flag_spans"]
            if not all(flagged(a, b) for a, b in _occurrences(text, s))
        ]
        checks["flagged"] = not missed
        why += [f"flagged: “{s}”没有被提示" for s in missed]
    if case["must_not_flag"]:
        wrong = [
            s for s in case["must_not_flag"] if any(flagged(a, b) for a, b in _occurrences(text, s))
        ]
        checks["not_flagged"] = not wrong
        why += [f"not_flagged: “{s}”不该被提示" for s in wrong]


def _citation_dict(c) -> dict | None:
    return c.to_dict() if c is not None else None


def score_case(case: Case, result: Any, again: Any | None, corpus, pack) -> dict:
    """The checks of one case, given the engine's result and its result on its own output."""

    text, output = case["text"], result.rewritten
    checks: dict[str, bool | None] = dict.fromkeys(CHECKS)
    why: list[str] = []

    expected = case["expected"]
    if expected is not None:
        checks["expected"] = tc.equal(output, expected)
        if not checks["expected"]:
            why.append("expected: 与期望的改写不一致")
        if expected == text:
            checks["unchanged"] = output == text
            if not checks["unchanged"]:
                why.append("unchanged: 无须改动的草稿被改动了")
    if case["must_contain"]:
        missing = [s for s in case["must_contain"] if not must_contain(output, s)]
        checks["must_contain"] = not missing
        why += [f"must_contain: 缺少“{s}”" for s in missing]
    if case["must_not_contain"]:
        present = [s for s in case["must_not_contain"] if must_contain(output, s)]
        checks["must_not_contain"] = not present
        why += [f"must_not_contain: 仍有“{s}”" for s in present]

    expected_rules = set(case["expected_rules"])
    fired = {c.rule for c in result.changes}
    heldout = case.split == "heldout"
    if not heldout:  # held-out cases name the spans to flag, not the rules to fire
        checks["rules"] = fired == expected_rules
        if expected_rules - fired:
            why.append(f"rules: 未按规则改动 {', '.join(sorted(expected_rules - fired))}")
        if fired - expected_rules:
            why.append(f"rules: 多余的改动 {', '.join(sorted(fired - expected_rules))}")

    expected_flags = set(case["expected_flags"])
    raised = {f.rule for f in result.flags}
    if expected_flags:
        checks["flags"] = expected_flags <= raised
        if not checks["flags"]:
            why.append(f"flags: 没有提示 {', '.join(sorted(expected_flags - raised))}")

    mandated = {r.id for r in pack.rules if r.rewrites}
    leftover = (
        sorted({c.rule for c in analyse(output, pack).changes} & mandated) if output.strip() else []
    )
    checks["targets"] = not leftover
    if leftover:
        why.append(f"targets: 仍有须改写之处（{', '.join(leftover)}）")

    lost = [s.text for s in fact_spans(text) if output.count(s.text) < text.count(s.text)]
    if fact_spans(text):
        checks["facts"] = not lost
        why += [f"facts: 事实“{f}”被改动" for f in dict.fromkeys(lost)]

    traps = trap_problems(text, output)
    if traps or any(w in text for w in TRAP_WORDS) or any(i in text for i in TRAP_IDIOMS):
        checks["traps"] = not traps
        why += [f"traps: {t}" for t in traps]

    citations = [x.citation for x in [*result.changes, *result.flags] if x.citation is not None]
    bad = [c for c in citations if not corpus.verify(c)]
    if citations:
        checks["citations"] = not bad
        why += [f"citations: 引文“{c.quote}”不在 {c.passage_id} 中" for c in bad]

    if heldout:
        _heldout_checks(case, result, checks, why)

    if again is not None:
        checks["idempotent"] = again.rewritten == output
        if not checks["idempotent"]:
            why.append("idempotent: 再改写一次结果又变了")

    return {
        "checks": checks,
        "failures": why,
        "passed": not any(v is False for v in checks.values()),
        "similarity": round(tc.similarity(output, expected), 4) if expected is not None else None,
        "exact": output == expected if expected is not None else None,
        "rules": {"expected": sorted(expected_rules), "fired": sorted(fired)},
        "flag_rules": {"expected": sorted(expected_flags), "raised": sorted(raised)},
        "citations": {"total": len(citations), "verbatim": len(citations) - len(bad)},
        "uncited": sum(1 for x in [*result.changes, *result.flags] if x.citation is None),
    }


def _detail(result: Any) -> dict:
    return {
        "output": result.rewritten,
        "engine": result.engine,
        "changes": [
            {
                "rule": c.rule,
                "start": c.start,
                "end": c.end,
                "before": c.before,
                "after": c.after,
                "explanation": c.explanation,
                "citation": _citation_dict(c.citation),
            }
            for c in result.changes
        ],
        "flags": [
            {
                "rule": f.rule,
                "start": f.start,
                "end": f.end,
                "text": f.text,
                "message": f.message,
                "citation": _citation_dict(f.citation),
            }
            for f in result.flags
        ],
        "warnings": list(result.warnings),
    }


def run(dataset: Dataset, engine, progress=None) -> dict:
    """Every case through ``engine`` (runner.Engine); per-case results, figures and timings."""

    corpus, pack = get_corpus(), get_pack()
    cases, timings = [], {}
    for case in dataset.cases:
        out = engine.rewrite(case["text"], key=f"rewrite/{case.id}")
        timings[case.id] = out.latency_ms
        row: dict[str, Any] = {
            "id": case.id,
            "tags": case.tags,
            "where": rows.where(case),
            "text": case["text"],
            "expected": case["expected"],
        }
        usage = out.usage()
        if out.result is None:
            row.update(rows.unscored(out, CHECKS))
        else:
            again = (
                engine.rewrite(out.result.rewritten, key=f"rewrite/{case.id}#again")
                if out.result.rewritten.strip()
                else None
            )
            if again is not None:
                usage = rows.add_usage(usage, again.usage())
            figures = score_case(case, out.result, again.result if again else None, corpus, pack)
            row.update(rows.scored(out, figures, again, "idempotent"), **_detail(out.result))
        if usage:
            row["usage"] = usage
        cases.append(row)
        if progress:
            progress("rewrite", case.id, row["passed"])
    return {
        "summary": summarize(cases),
        "per_rule": per_rule(cases),
        "per_tag": per_tag(cases),
        "cases": cases,
        "timings": timings,
    }


def rate(cases: list[dict], check: str) -> float | None:
    """Share of the cases where ``check`` applied that passed it (None: applied nowhere)."""
    applied = [c["checks"].get(check) for c in cases if c["checks"].get(check) is not None]
    return round(sum(applied) / len(applied), 4) if applied else None


def _prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": _r(p), "recall": _r(r), "f1": _r(f)}


def _r(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


def per_rule(cases: list[dict]) -> dict:
    """Precision and recall per rule, of changes (rule fired vs expected) and of flags."""
    counts: dict[str, Counter] = {}
    for c in cases:
        if "rules" not in c:
            continue  # no result (missing recording, error): not counted either way
        if c["checks"].get("rules") is None:
            continue  # a held-out case names spans, not rules: no per-rule figures
        for kind, exp, got in (
            ("changes", *_pair(c, "rules", "fired")),
            ("flags", *_pair(c, "flag_rules", "raised")),
        ):
            for rule in exp | got:
                n = counts.setdefault(rule, Counter())
                n[f"{kind}_tp"] += rule in exp and rule in got
                n[f"{kind}_fp"] += rule in got and rule not in exp
                n[f"{kind}_fn"] += rule in exp and rule not in got
    return {
        rule: {
            "changes": _prf(n["changes_tp"], n["changes_fp"], n["changes_fn"]),
            "flags": _prf(n["flags_tp"], n["flags_fp"], n["flags_fn"]),
        }
        for rule, n in sorted(counts.items())
    }


def _pair(case: dict, field: str, got: str) -> tuple[set, set]:
    item = case.get(field) or {}
    return set(item.get("expected", [])), set(item.get(got, []))


def per_tag(cases: list[dict]) -> dict:
    tags: dict[str, list[bool]] = {}
    for c in cases:
        for t in c["tags"]:
            tags.setdefault(t, []).append(c["passed"])
    return {
        t: {"n": len(v), "passed": sum(v), "pass_rate": round(sum(v) / len(v), 4)}
        for t, v in sorted(tags.items())
    }


def summarize(cases: list[dict]) -> dict:
    n = len(cases)
    scored = [c for c in cases if "rules" in c]
    totals: Counter[str] = Counter()
    for rule in per_rule(cases).values():
        for kind in ("changes", "flags"):
            for k in ("tp", "fp", "fn"):
                totals[f"{kind}_{k}"] += rule[kind][k]
    changes = _prf(totals["changes_tp"], totals["changes_fp"], totals["changes_fn"])
    flags = _prf(totals["flags_tp"], totals["flags_fp"], totals["flags_fn"])
    sims = [c["similarity"] for c in scored if c.get("similarity") is not None]
    cites = [c["citations"] for c in scored]
    total_cites = sum(x["total"] for x in cites)
    return {
        "cases": n,
        "passed": sum(c["passed"] for c in cases),
        "pass_rate": round(sum(c["passed"] for c in cases) / n, 4) if n else None,
        "not_run": sum(1 for c in cases if "rules" not in c),
        "expected_match": rate(cases, "expected"),
        "similarity": round(sum(sims) / len(sims), 4) if sims else None,
        "unchanged": rate(cases, "unchanged"),
        "must_contain": rate(cases, "must_contain"),
        "must_not_contain": rate(cases, "must_not_contain"),
        "rule_precision": changes["precision"],
        "rule_recall": changes["recall"],
        "rule_f1": changes["f1"],
        "flag_recall": flags["recall"],
        "flag_precision": flags["precision"],
        "targets_removed": rate(cases, "targets"),
        "facts_kept": rate(cases, "facts"),
        "traps_avoided": rate(cases, "traps"),
        "citations_verbatim": round(sum(x["verbatim"] for x in cites) / total_cites, 4)
        if total_cites
        else None,
        "uncited": sum(c.get("uncited", 0) for c in scored),
        "idempotent": rate(cases, "idempotent"),
        "compliant_untouched": rate(cases, "compliant"),
        "spans_flagged": rate(cases, "flagged"),
        "spans_not_flagged": rate(cases, "not_flagged"),
        "false_flags_compliant": _false_flag_rate(cases),
    }


def _false_flag_rate(cases: list[dict]) -> float | None:
    """Share of the compliant held-out drafts that got a flag (lower is better)."""
    compliant = [c for c in cases if c["checks"].get("compliant") is not None]
    if not compliant:
        return None
    return round(sum(1 for c in compliant if c.get("flags")) / len(compliant), 4)
