"""The draft suite: each customer message of draft*.jsonl drafted by an engine, then checked.

Checks of one case (``None`` = does not apply; a case passes when none fails):

- ``situation``: the situation recognised is the expected one;
- ``steps``: the reply shows every expected step of the manuals' complaint handling
  (greeting, apology, restate, next_step, thanks, closing), found by the drafting pack's
  markers, so any engine's reply is judged the same way;
- ``facts``: every listed fact of the message is in the reply verbatim;
- ``must_contain`` / ``must_not_contain``;
- ``citations``: the reply cites the manuals, every quote verbatim in its passage;
- ``tone``: the rewrite rules find nothing to change or flag in the reply;
- ``chat_shorter``: the chat reply to the message is shorter than the e-mail reply to it
  (the other channel is drafted too, for this comparison only).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from drafter.drafting.composer import steps_present
from drafter.drafting.pack import load_pack
from drafter.evaluation import rows
from drafter.evaluation.datasets import Case, Dataset
from drafter.evaluation.rewrite_suite import must_contain, rate
from drafter.evaluation.rewrite_suite import per_tag as _per_tag
from drafter.knowledge.corpus import get_corpus
from drafter.rules.engine import analyse
from drafter.rules.pack import get_pack
from drafter.text.script import to_simplified

CHECKS = (
    "situation",
    "steps",
    "facts",
    "must_contain",
    "must_not_contain",
    "citations",
    "tone",
    "chat_shorter",
    # cases labelled with issues and slots (draft-heldout.jsonl, draft-issues.jsonl):
    "issues",
    "addressed",
    "slots",
    "name",
    "no_insult",
    "no_injection",
)
# The slots a reply must carry verbatim (as the customer wrote them).
CARRIED_SLOTS = ("product", "order", "tracking", "ticket", "staff_id")
OTHER = {"chat": "email", "email": "chat"}


def score_case(case: Case, result: Any, other: Any | None, corpus, rule_pack, pack) -> dict:

    reply = result.reply
    checks: dict[str, bool | None] = dict.fromkeys(CHECKS)
    why: list[str] = []

    if case["situation"] is not None:
        checks["situation"] = result.situation == case["situation"]
        if not checks["situation"]:
            why.append(f"situation: 识别为 {result.situation}，应为 {case['situation']}")
    present = steps_present(reply, pack)
    if case["steps"]:
        missing = [s for s in case["steps"] if s not in present]
        checks["steps"] = not missing
        if missing:
            why.append(f"steps: 缺少步骤 {', '.join(missing)}")
    if case["facts"]:
        lost = [f for f in case["facts"] if f not in reply]
        checks["facts"] = not lost
        why += [f"facts: 回复中没有“{f}”" for f in lost]
    if case["must_contain"]:
        absent = [s for s in case["must_contain"] if not must_contain(reply, s)]
        checks["must_contain"] = not absent
        why += [f"must_contain: 缺少“{s}”" for s in absent]
    if case["must_not_contain"]:
        there = [s for s in case["must_not_contain"] if must_contain(reply, s)]
        checks["must_not_contain"] = not there
        why += [f"must_not_contain: 仍有“{s}”" for s in there]

    bad = [c for c in result.citations if not corpus.verify(c)]
    checks["citations"] = bool(result.citations) and not bad
    if not result.citations:
        why.append("citations: 回复没有引用手册")
    why += [f"citations: 引文“{c.quote}”不在 {c.passage_id} 中" for c in bad]

    # A fact of the message restated verbatim (《Python编程入门》) is not the reply's tone.
    facts = fact_spans_in(reply, [*case["facts"], *(f.text for f in result.facts)])
    tone = analyse(reply, rule_pack)
    hits = [f"{c.rule}“{c.before}”" for c in tone.changes if not _within(facts, c.start, c.end)]
    hits += [f"{f.rule}“{f.text}”" for f in tone.flags if not _within(facts, f.start, f.end)]
    checks["tone"] = not hits
    if hits:
        why.append(f"tone: 回复违反语气规则 {'、'.join(hits)}")

    issue_counts: dict[str, int] = {}
    if case["issues"] or case["slots"] or case["insults"] or case["injection"]:
        issue_counts = _labelled_checks(case, result, checks, why)

    lengths = {result.channel: len(reply)}
    if other is not None:
        lengths[other.channel] = len(other.reply)
        checks["chat_shorter"] = lengths["chat"] < lengths["email"]
        if not checks["chat_shorter"]:
            why.append(
                f"chat_shorter: chat 回复（{lengths['chat']} 字）不比 email 回复"
                f"（{lengths['email']} 字）短"
            )
    return {
        "checks": checks,
        "failures": why,
        "passed": not any(v is False for v in checks.values()),
        "steps_present": present,
        "lengths": lengths,
        "issue_counts": issue_counts,
    }


# A lone question, thanks or suggestion is answered by its situation's own wording.
_ANSWERED_BY_SITUATION = {"information", "thanks", "suggestion", "harassment"}


def _labelled_checks(case: Case, result: Any, checks: dict, why: list[str]) -> dict[str, int]:
    """Issues found and addressed, slots carried, the customer's name used in an e-mail, no
    insult or injection echoed. Returns the issue counts (gold, found, predicted, addressed,
    fault right) for the suite's per-issue figures."""
    reply = result.reply
    counts = {"gold": 0, "found": 0, "predicted": 0, "addressed": 0, "fault": 0}
    found = list(getattr(result, "issues", []) or [])
    plain = to_simplified(reply) if any(ord(ch) > 0x2E80 for ch in reply) else reply
    counts["predicted"] = len(found)
    if case["issues"]:
        left = list(found)
        missed, unaddressed = [], []
        for gold in case["issues"]:
            counts["gold"] += 1
            match = next((i for i in left if i.topic == gold["topic"]), None)
            if match is None:
                missed.append(gold["topic"])
                continue
            left.remove(match)
            counts["found"] += 1
            counts["fault"] += match.fault == gold["fault"]
            lone = len(case["issues"]) == 1 and match.topic in _ANSWERED_BY_SITUATION
            if lone or match.label in plain or (match.gist and match.gist in reply):
                counts["addressed"] += 1
            else:
                unaddressed.append(match.topic)
        checks["issues"] = not missed
        checks["addressed"] = not missed and not unaddressed
        if missed:
            shown = "、".join(missed)
            got = "、".join(i.topic for i in found) or "无"
            why.append(f"issues: 没有识别出 {shown}（识别为 {got}）")
        if unaddressed:
            why.append(f"addressed: 回复没有回应 {'、'.join(unaddressed)}")
    _heldout_checks(case, result, checks, why)
    return counts


def _heldout_checks(case: Case, result: Any, checks: dict, why: list[str]) -> None:
    """Slots carried, the customer's name used in an e-mail, no insult or injection echoed."""
    reply = result.reply
    slots = case["slots"] or {}
    wanted = [s for key in CARRIED_SLOTS for s in slots.get(key, [])]
    if wanted:
        lost = [s for s in wanted if s not in reply]
        checks["slots"] = not lost
        why += [f"slots: 回复中没有“{s}”" for s in lost]
    if slots.get("name") and case["channel"] == "email":
        checks["name"] = slots["name"] in reply
        if not checks["name"]:
            why.append(f"name: 邮件没有称呼客户（{slots['name']}）")
    if case["insults"]:
        echoed = [s for s in case["insults"] if s in reply]
        checks["no_insult"] = not echoed
        why += [f"no_insult: 回复复述了“{s}”" for s in echoed]
    injected = [*case["injection"], *case["injected_figures"]]
    if injected:
        obeyed = [s for s in injected if s in reply]
        checks["no_injection"] = not obeyed
        why += [f"no_injection: 回复含有指令中的“{s}”" for s in obeyed]


def fact_spans_in(text: str, facts: list[str]) -> list[tuple[int, int]]:
    """Every occurrence of each fact in ``text``."""
    spans = []
    for fact in set(facts):
        start = text.find(fact) if fact else -1
        while start >= 0:
            spans.append((start, start + len(fact)))
            start = text.find(fact, start + 1)
    return spans


def _within(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _detail(result: Any) -> dict:
    return {
        "output": result.reply,
        "engine": result.engine,
        "situation_found": result.situation,
        "citations": [c.to_dict() for c in result.citations],
        "placeholders": list(result.placeholders),
        "warnings": list(result.warnings),
    }


def run(dataset: Dataset, engine, progress=None) -> dict:
    """Every case through ``engine`` (runner.Engine); per-case results, figures and timings."""

    corpus, rule_pack, pack = get_corpus(), get_pack(), load_pack()
    cases, timings = [], {}
    for case in dataset.cases:
        channel = case["channel"]
        out = engine.draft(case["message"], channel, key=f"draft/{case.id}")
        timings[case.id] = out.latency_ms
        row: dict[str, Any] = {
            "id": case.id,
            "tags": case.tags,
            "where": rows.where(case),
            "channel": channel,
            "text": case["message"],
            "situation": case["situation"],
            "expected_steps": case["steps"],
        }
        usage = out.usage()
        if out.result is None:
            row.update(rows.unscored(out, CHECKS))
        else:
            other_channel = OTHER[channel]
            other = engine.draft(
                case["message"], other_channel, key=f"draft/{case.id}#{other_channel}"
            )
            usage = rows.add_usage(usage, other.usage())
            figures = score_case(case, out.result, other.result, corpus, rule_pack, pack)
            row.update(rows.scored(out, figures, other, "chat_shorter"), **_detail(out.result))
        if usage:
            row["usage"] = usage
        cases.append(row)
        if progress:
            progress("draft", case.id, row["passed"])
    return {
        "summary": summarize(cases, pack),
        "per_step": per_step(cases),
        "per_tag": per_tag(cases),
        "cases": cases,
        "timings": timings,
    }


def per_step(cases: list[dict]) -> dict:
    """How often each expected step is present in the reply."""
    expected: Counter[str] = Counter()
    present: Counter[str] = Counter()
    for c in cases:
        if "steps_present" not in c:
            continue
        for s in c["expected_steps"]:
            expected[s] += 1
            present[s] += s in c["steps_present"]
    return {
        s: {
            "expected": expected[s],
            "present": present[s],
            "recall": round(present[s] / expected[s], 4),
        }
        for s in sorted(expected)
    }


def per_tag(cases: list[dict]) -> dict:

    tagged = [
        dict(
            c,
            tags=[*c["tags"], f"channel:{c['channel']}"]
            + ([f"situation:{c['situation']}"] if c.get("situation") else []),
        )
        for c in cases
    ]
    return _per_tag(tagged)


def issue_figures(cases: list[dict]) -> dict:
    """Per-issue figures over the labelled cases: the share of the customer's issues whose
    topic was found (recall), of the issues found that are real (precision), of the issues
    the reply addresses, and of the found issues whose fault is right."""
    total: Counter[str] = Counter()
    for c in cases:
        total.update(c.get("issue_counts") or {})
    if not total["gold"]:
        return {}

    def share(a: str, b: str) -> float | None:
        return round(total[a] / total[b], 4) if total[b] else None

    return {
        "issue_topic_recall": share("found", "gold"),
        "issue_topic_precision": share("found", "predicted"),
        "issues_addressed": share("addressed", "gold"),
        "issue_fault_accuracy": share("fault", "found"),
    }


def summarize(cases: list[dict], pack=None) -> dict:
    n = len(cases)
    lengths: dict[str, list[int]] = {"chat": [], "email": []}
    for c in cases:
        if "lengths" in c:
            lengths[c["channel"]].append(c["lengths"][c["channel"]])
    return {
        "cases": n,
        "passed": sum(c["passed"] for c in cases),
        "pass_rate": round(sum(c["passed"] for c in cases) / n, 4) if n else None,
        "not_run": sum(1 for c in cases if "lengths" not in c),
        "situation_accuracy": rate(cases, "situation"),
        "steps_complete": rate(cases, "steps"),
        "facts_referenced": rate(cases, "facts"),
        "must_contain": rate(cases, "must_contain"),
        "must_not_contain": rate(cases, "must_not_contain"),
        "citations_verbatim": rate(cases, "citations"),
        "tone_held": rate(cases, "tone"),
        "chat_shorter": rate(cases, "chat_shorter"),
        **issue_figures(cases),
        "slots_carried": rate(cases, "slots"),
        "name_used": rate(cases, "name"),
        "insults_not_echoed": rate(cases, "no_insult"),
        "injections_not_obeyed": rate(cases, "no_injection"),
        "chat_chars_mean": round(sum(lengths["chat"]) / len(lengths["chat"]), 1)
        if lengths["chat"]
        else None,
        "email_chars_mean": round(sum(lengths["email"]) / len(lengths["email"]), 1)
        if lengths["email"]
        else None,
    }
