"""The eval datasets' cases (evals/datasets/*.jsonl, one JSON object a line) as typed models.

One model per kind and split: ``<kind>*.jsonl`` is the dev split, ``<kind>*-heldout.jsonl``
the held-out split, whose cases may carry extra fields. The names a case refers to (rule ids,
steps, situations) are checked against the validation context when it gives them (``rules``,
``steps``, ``situations``); what a case says about its own text (facts verbatim in the
message, spans verbatim in the draft) is always checked. The field descriptions are the
schema documented in evals/datasets/README.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from drafter.models.base import Loc, Problems, Strict, Style, Text, Word, dotted, problem

KINDS = ("rewrite", "draft", "retrieval")
SPLITS = ("dev", "heldout")
CHANNELS = ("chat", "email")

Words = list[Word]


def _known(info: ValidationInfo, key: str) -> list[str] | None:
    names = (info.context or {}).get(key)
    return None if names is None else list(names)


def _verbatim(spans: list[str], info: ValidationInfo, where: str) -> list[str]:
    text = info.data.get(where)
    if text is None:
        return spans
    problems = Problems()
    for i, span in enumerate(spans):
        if span not in text:
            problems.add(
                (i,),
                f"{info.field_name} 中的 {span!r} 不在 {where} 中（须逐字摘自 {where}）",
                whole=True,
            )
    problems.raise_if_any()
    return spans


class CaseBase(Strict):
    id: Text = Field(description="unique id of the case (unique across the files of one kind)")
    tags: Words = Field(
        description="labels for grouping figures: a rule id, situation, channel, topic … "
        "(may be empty)"
    )


class RewriteCase(CaseBase):
    text: Text = Field(description="the agent's draft")
    expected: str | None = Field(
        None,
        description="the whole expected rewrite (null: not checked); equal to text = the "
        "draft must come back unchanged",
    )
    must_contain: Words = Field(
        default_factory=list, description="strings the rewrite must contain"
    )
    must_not_contain: Words = Field(
        default_factory=list, description="strings the rewrite must not contain"
    )
    expected_rules: Words = Field(
        default_factory=list,
        description="ids of the rules whose changes are expected (each fires at least once); "
        "no other rule may change the draft",
    )
    expected_flags: Words = Field(
        default_factory=list, description="ids of the rules that must raise a flag"
    )

    @field_validator("expected_rules", "expected_flags")
    @classmethod
    def _rules_exist(cls, ids: list[str], info: ValidationInfo) -> list[str]:
        known = _known(info, "rules")
        if known is None:
            return ids
        problems = Problems()
        for i, rule in enumerate(ids):
            if rule not in known:
                problems.add(
                    (i,),
                    f"{info.field_name} 中的规则 {rule!r} 不在规则包中"
                    f"（可用：{', '.join(sorted(known))}）",
                    whole=True,
                )
        problems.raise_if_any()
        return ids


class RewriteHeldout(RewriteCase):
    compliant: bool = Field(False, description="the draft already follows every rule")
    flag_spans: Words = Field(
        default_factory=list,
        description="spans of text that must be flagged (each verbatim in text)",
    )
    must_not_flag: Words = Field(
        default_factory=list,
        description="spans of text that must not be flagged (each verbatim in text)",
    )
    reference: str | None = Field(None, description="a reference rewrite by a person")
    notes: str | None = Field(None, description="the annotator's notes")

    @field_validator("flag_spans", "must_not_flag")
    @classmethod
    def _spans_in_text(cls, spans: list[str], info: ValidationInfo) -> list[str]:
        return _verbatim(spans, info, "text")


class DraftCase(CaseBase):
    channel: Literal["chat", "email"] = Field(description="chat or email")
    message: Text = Field(description="the customer's message")
    situation: str | None = Field(
        None, description="the situation the drafter should recognise (null: any)"
    )
    must_contain: Words = Field(default_factory=list, description="strings the reply must contain")
    must_not_contain: Words = Field(
        default_factory=list, description="strings the reply must not contain"
    )
    facts: Words = Field(
        default_factory=list,
        description="facts of the message the reply must repeat verbatim (each verbatim in "
        "message)",
    )
    steps: Words = Field(
        default_factory=list,
        description="the manual's steps the reply must show (greeting, apology, restate, "
        "next_step, thanks, closing …)",
    )

    @field_validator("situation")
    @classmethod
    def _situation_exists(cls, situation: str | None, info: ValidationInfo) -> str | None:
        known = _known(info, "situations")
        if situation is not None and known is not None and situation not in known:
            raise problem(f"未知的情况 {situation!r}（可用：{', '.join(known)}）", whole=True)
        return situation

    @field_validator("facts")
    @classmethod
    def _facts_in_message(cls, facts: list[str], info: ValidationInfo) -> list[str]:
        message = info.data.get("message")
        problems = Problems()
        for i, fact in enumerate(facts):
            if message is not None and fact not in message:
                problems.add(
                    (i,), f"事实 {fact!r} 不在 message 中（facts 必须逐字摘自客户消息）", whole=True
                )
        problems.raise_if_any()
        return facts

    @field_validator("steps")
    @classmethod
    def _steps_exist(cls, steps: list[str], info: ValidationInfo) -> list[str]:
        known = _known(info, "steps")
        problems = Problems()
        for i, step in enumerate(steps):
            if known is not None and step not in known:
                problems.add((i,), f"未知的步骤 {step!r}（可用：{', '.join(known)}）", whole=True)
        problems.raise_if_any()
        return steps


class Issue(Strict):
    topic: Text = Field(description="what the issue is about")
    acts: Words = Field(description="what the customer asks for or does")
    fault: Literal["ours", "not_ours", "customer", "unknown"] = Field(description="whose fault")
    summary: Text = Field(description="the issue in one sentence")


class Amount(Strict):
    text: Word = Field(description="the amount as written")
    role: Text = Field(description="what the amount is (price, refund …)")


class Slots(Strict):
    product: Words = Field(default_factory=list)
    order: Words = Field(default_factory=list)
    tracking: Words = Field(default_factory=list)
    ticket: Words = Field(default_factory=list)
    staff_id: Words = Field(default_factory=list)
    dates: Words = Field(default_factory=list)
    deadline: Words = Field(default_factory=list)
    phone: Words = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    name: str | None = None


class DraftHeldout(DraftCase):
    script: Literal["simplified", "traditional"] | None = Field(
        None, description="the script of the message: simplified or traditional"
    )
    language: Literal["zh", "en"] | None = Field(None, description="the language: zh or en")
    issues: list[Issue] = Field(
        default_factory=list, description="the customer's issues: {topic, acts, fault, summary}"
    )
    slots: Slots | None = Field(
        None,
        description="the message's particulars: product, order, tracking, ticket, staff_id, "
        "dates, deadline, phone ([str]), amounts ([{text, role}]), name",
    )
    insults: Words = Field(default_factory=list, description="insults in the message")
    injection: Words = Field(
        default_factory=list, description="text in the message that tries to instruct the model"
    )
    injected_figures: Words = Field(
        default_factory=list, description="figures the injected text wants in the reply"
    )
    reply_must: Words = Field(default_factory=list, description="what the reply must do")
    reply_must_not: Words = Field(default_factory=list, description="what the reply must not do")


class RetrievalCase(CaseBase):
    query: Text = Field(description="a question as an agent asks it")
    relevant: Annotated[Words, Field(min_length=1)] = Field(
        description="verbatim snippets of the passages that answer it"
    )


MODELS: dict[str, dict[str, type[CaseBase]]] = {
    "rewrite": {"dev": RewriteCase, "heldout": RewriteHeldout},
    # Dev cases may carry the held-out labels too (issues, slots …): draft-issues.jsonl does.
    "draft": {"dev": DraftHeldout, "heldout": DraftHeldout},
    "retrieval": {"dev": RetrievalCase, "heldout": RetrievalCase},
}


def _label(loc: Loc) -> str:
    return f"字段 {dotted(loc)!r}" if loc else ""


DATASET_STYLE = Style(label=_label, root="每行应是一个 JSON 对象")
