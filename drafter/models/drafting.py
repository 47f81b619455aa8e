"""The drafting pack, knowledge/drafting.yaml, as a typed model.

:class:`DraftingFile` checks the file: unknown fields, types, regexes that compile, phrase
texts that use only known template fields, placeholders written 【名称】 and explained, steps,
conditions and phrase ids that exist, unique situation ids, the default situation, and that
every phrase is grounded. drafter.drafting.pack builds the runtime Pack from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drafter.models.base import Loc, Problems, Strict, Style, Text, empty_if_none, problem

CHANNELS = ("chat", "email")
# topic, facts, angry, complex: as before; issues: the message's issues were found (analysis);
# several: two or more; ours: one is our fault as the customer tells it; escalation: a threat
# to go to 12315, the media, a lawyer; deadline: the customer's own deadline; no_forward: the
# customer asked not to be told it will be passed on; phone: the customer left a number.
Condition = Literal[
    "topic",
    "facts",
    "angry",
    "complex",
    "issues",
    "several",
    "ours",
    "escalation",
    "deadline",
    "no_forward",
    "phone",
]
CONDITIONS: tuple[str, ...] = get_args(Condition)
DEFAULT_SITUATION = "question"
PLACEHOLDER = re.compile(r"【[^】]+】")
TEMPLATE_FIELDS = {"team", "hours", "topic", "facts", "issues", "deadline", "fault"}
# The fields of issue_lines' templates.
ISSUE_FIELDS = {"n", "label", "gist", "facts", "plan", "hint", "text"}
_FIELDS = re.compile(r"\{(\w*)\}")


def _int_as_str(value: Any) -> Any:
    """A cue written as a bare number in YAML (12315) is that text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise problem(f"正则表达式无法编译：{err}") from None
    return value


def _fields_of(known: set[str]) -> Callable[[str], str]:
    """A validator: a template may use only the ``known`` fields."""

    def check(value: str) -> str:
        unknown = [n for n in _FIELDS.findall(value) if n not in known]
        if unknown:
            raise problem(f"用了未知模板字段 {{{unknown[0]}}}（可用：{', '.join(sorted(known))}）")
        return value

    return check


_template_fields = _fields_of(TEMPLATE_FIELDS)


def _placeholder_name(value: str) -> str:
    if not PLACEHOLDER.fullmatch(value):
        raise problem("占位符应写成【名称】")
    return value


Word = Annotated[Text, BeforeValidator(_int_as_str)]
Words = Annotated[list[Word], empty_if_none(list)]
Regex = Annotated[Word, AfterValidator(_regex)]
Regexes = Annotated[list[Regex], empty_if_none(list)]
PhraseText = Annotated[Text, AfterValidator(_template_fields)]
PlaceholderName = Annotated[str, AfterValidator(_placeholder_name)]
Placeholders = Annotated[dict[PlaceholderName, Text], empty_if_none(dict)]
Labels = Annotated[dict[str, Text], empty_if_none(dict)]
Conditions = Annotated[list[Condition], empty_if_none(list)]


class Ground(Strict):
    slug: Text = Field(description="手册文件名（knowledge/manuals/<slug>.md）")
    quote: Text = Field(description="手册中的逐字原文")


Grounds = Annotated[list[Ground], empty_if_none(list)]


class Texts(Strict):
    """A phrase's text per channel (a channel without text leaves the phrase out there)."""

    chat: PhraseText | None = None
    email: PhraseText | None = None

    def texts(self) -> dict[str, str]:
        return {ch: t for ch in CHANNELS if (t := getattr(self, ch)) is not None}


class Variant(Texts):
    when: Conditions = Field(default_factory=list)
    grounds: Grounds = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_text(self) -> Variant:
        if not self.texts():
            raise problem("至少要有 chat 或 email 的文字")
        return self


class Phrase(Texts):
    steps: Words = Field(description="这条用语承担的步骤（见 steps）")
    grounds: Grounds = Field(default_factory=list)
    variants: list[Variant] | None = None

    def all_variants(self) -> list[tuple[Loc, Variant]]:
        """Each variant with its location in the file (a phrase without variants is one)."""
        if self.variants is None:
            return [((), Variant.model_construct(chat=self.chat, email=self.email))]
        return [(("variants", i), v) for i, v in enumerate(self.variants)]

    @model_validator(mode="after")
    def _variants_grounded(self) -> Phrase:
        problems = Problems()
        if self.variants is not None and self.texts():
            problems.add((), "variants 与 chat/email 不能同时给出")
        elif self.variants is not None and not self.variants:
            problems.add(("variants",), "应是非空列表")
        elif self.variants is None and not self.texts():
            problems.add((), "至少要有 chat 或 email 的文字")
        for loc, variant in self.all_variants():
            if not variant.grounds and not self.grounds:
                problems.add(loc, "缺少 grounds：每个标准用语都要有手册原文依据")
        problems.raise_if_any()
        return self


class Situation(Strict):
    id: Text = Field(description="情况 id")
    label: Text = Field(description="情况的名称")
    manual: Ground = Field(description="手册里这种情况的标题 {slug, quote}")
    decisive: Regexes = Field(default_factory=list)
    strong: Words = Field(default_factory=list)
    cues: Words = Field(default_factory=list)
    weak: Words = Field(default_factory=list)
    patterns: Regexes = Field(default_factory=list)
    compose: Annotated[list[Words], Field(min_length=1)] = Field(
        description="段落列表（每段是用语 id 的列表）"
    )
    only_without_substance: bool = False


class Topic(Strict):
    label: Text = Field(description="话题名称")
    cues: Words = Field(description="话题的提示词")


Topics = Annotated[list[Topic], empty_if_none(list)]


class TimeLimits(Strict):
    simple: Annotated[int, Field(gt=0)] = Field(description="简单投诉的答复时限（小时）")
    complex: Annotated[int, Field(gt=0)] = Field(description="复杂投诉的答复时限（小时）")
    grounds: Grounds = Field(default_factory=list)
    complex_cues: Words = Field(default_factory=list)
    complex_min_facts: Annotated[int, Field(ge=0)] = 0


class Email(Strict):
    salutation: Text = Field(description="邮件的称呼")
    salutation_named: Text | None = Field(
        None, description="知道客户姓名时的称呼，{name} 处填客户的称呼（王先生、李女士）"
    )
    unknown_title: Text = Field("先生/女士", description="只知道姓时接在姓后面的称呼")
    closing_lines: Words = Field(default_factory=list)


IssueText = Annotated[Text, AfterValidator(_fields_of(ISSUE_FIELDS))]


class IssueTexts(Strict):
    chat: IssueText
    email: IssueText


class IssueLines(Strict):
    """How a reply restates the customer's issues, one sentence each (the manual's 复述)."""

    single: IssueTexts = Field(description="one issue: {label} {gist} {facts}")
    single_question: IssueTexts = Field(description="one issue the customer only asks about")
    intro: IssueTexts = Field(description="before the numbered issues")
    item: IssueTexts = Field(description="one of several issues: {n} {label} {gist} {facts} {plan}")
    gist: IssueText = Field(description="the customer's words for the issue: {text}")
    facts: Words = Field(description="the kinds of facts an issue's sentence names")
    max_facts: int = Field(3, ge=0, description="the most facts one issue's sentence names")
    plan: IssueText = Field(description="the placeholder of an issue's plan: {n} {hint}")
    hints: dict[str, Text] = Field(description="topic id -> what the agent fills in")
    default_hint: Text = Field(description="for a topic without a hint")
    numerals: Words = Field(description="how the items are numbered")
    grounds: Grounds = Field(default_factory=list)


class DraftingFile(Strict):
    """knowledge/drafting.yaml. Fields are checked in this order: later checks see earlier
    fields (phrases see steps and placeholders; situations see phrases)."""

    version: Literal[1] = Field(description="只支持 version: 1")
    steps: dict[str, Words] = Field(description="步骤及其在回复中的标志词")
    placeholders: Placeholders = Field(default_factory=dict)
    time_limits: TimeLimits = Field(description="{simple, complex}：答复时限（小时）")
    angry_cues: Words = Field(default_factory=list)
    instruction_cues: Words = Field(default_factory=list)
    fact_labels: Labels = Field(default_factory=dict)
    ignore_facts: Words = Field(default_factory=list)
    topics: Topics = Field(default_factory=list)
    phrases: dict[str, Phrase] = Field(description="标准用语")
    situations: Annotated[list[Situation], Field(min_length=1)] = Field(
        description="情况列表，按优先级排列"
    )
    instruction_situation: str | None = None
    email: Email = Field(description="{salutation, closing_lines}")
    issue_lines: IssueLines | None = None

    @field_validator("phrases")
    @classmethod
    def _phrases_refer(cls, phrases: dict[str, Phrase], info: ValidationInfo) -> dict:
        steps, placeholders = info.data.get("steps"), info.data.get("placeholders")
        problems = Problems()
        for pid, phrase in phrases.items():
            for s in phrase.steps:
                if steps is not None and s not in steps:
                    problems.add((pid, "steps"), f"未知步骤 {s!r}（见 steps）")
            for loc, variant in phrase.all_variants():
                for ch, text in variant.texts().items():
                    for ph in PLACEHOLDER.findall(text):
                        if placeholders is not None and ph not in placeholders:
                            problems.add((pid, *loc, ch), f"占位符 {ph} 没有在 placeholders 中说明")
        problems.raise_if_any()
        return phrases

    @field_validator("situations")
    @classmethod
    def _situations_refer(cls, situations: list[Situation], info: ValidationInfo) -> list:
        phrases = info.data.get("phrases")
        problems = Problems()
        seen: set[str] = set()
        for i, s in enumerate(situations):
            if s.id in seen:
                problems.add((i, "id"), "与前面的情况重复（id 应唯一）")
            seen.add(s.id)
            for j, paragraph in enumerate(s.compose):
                for pid in paragraph:
                    if phrases is not None and pid not in phrases:
                        problems.add((i, "compose", j), f"未知用语 {pid!r}（见 phrases）")
        if DEFAULT_SITUATION not in seen:
            problems.add((), f"缺少默认情况 {DEFAULT_SITUATION}（一般咨询）")
        problems.raise_if_any()
        return situations

    @field_validator("instruction_situation")
    @classmethod
    def _known_situation(cls, value: str | None, info: ValidationInfo) -> str | None:
        situations = info.data.get("situations")
        if value is not None and situations is not None and value not in {s.id for s in situations}:
            raise problem(f"未知情况 {value!r}（见 situations）")
        return value


def style(raw: Any) -> Style:
    """Messages about ``raw`` (the file's data): key paths, a situation named by its id."""

    def label(loc: Loc) -> str:
        out, node = "", raw
        for part in loc:
            item = node[part] if _has(node, part) else None
            if isinstance(part, int):
                sid = item.get("id") if isinstance(item, dict) else None
                out += f".{sid}" if isinstance(sid, str) and sid else f"[{part}]"
            else:
                out += f".{part}" if out else str(part)
            node = item
        return out

    return Style(label=label, root="文件内容应是一个 YAML 映射（key: value）")


def _has(node: Any, part: str | int) -> bool:
    if isinstance(part, int):
        return isinstance(node, list) and 0 <= part < len(node)
    return isinstance(node, dict) and part in node
