"""A rule file of knowledge/rules/ (format: knowledge/rules/README.md) as a typed model.

:meth:`RuleFile.check` validates one file's data: unknown fields, types, the id (its format
and the file name), kind and severity, templates and their placeholders, every regex (it
compiles with the rule's ``define`` fragments, does not match the empty string, and the
replacements name only groups it has) and what each kind and severity requires.
drafter.rules.pack builds the compiled Rule from the validated model.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drafter.models.base import Loc, Problems, Strict, Style, Text, empty_if_none, problem

KINDS = ("substitution", "existence")
SEVERITIES = ("rewrite", "flag")
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TEMPLATE_FIELDS = {
    "explanation": {"action", "before", "after"},
    "message": {"text", "after"},
    "suggestion": {"text", "after"},
}
_DEFINE_REF = re.compile(r"\{\{(\w+)\}\}")
_GROUP_REF = re.compile(r"\\g<(\w+)>|\\(\d+)")


@dataclass(frozen=True)
class Regexes:
    """How the regexes of one rule compile: its named fragments and its flags."""

    defines: dict[str, str] = field(default_factory=dict)
    flags: int = 0

    def compile(self, source: str) -> re.Pattern[str]:
        """``source`` with its ``{{name}}`` fragments, compiled; ValueError says what is wrong."""
        missing = [n for n in _DEFINE_REF.findall(source) if n not in self.defines]
        if missing:
            raise ValueError(f"引用了未定义的片段 {{{{{missing[0]}}}}}")
        expanded = _DEFINE_REF.sub(lambda m: self.defines[m.group(1)], source)
        try:
            regex = re.compile(expanded, self.flags)
        except re.error as err:
            raise ValueError(f"不是有效的正则（{err}）：{source}") from None
        if regex.search("") is not None:
            raise ValueError(f"能匹配空字符串：{source}")
        return regex

    @classmethod
    def of(cls, data: Any) -> Regexes:
        """The fragments and flags a rule file declares, as far as they are well formed
        (their own problems are RuleFile's to report)."""
        if not isinstance(data, dict):
            return cls()
        try:
            defines = _DEFINES.validate_python(data.get("define"))
        except ValidationError:
            defines = {}
        return cls(defines, re.IGNORECASE if data.get("ignore_case") is True else 0)


def _regexes(info: ValidationInfo) -> Regexes:
    return (info.context or {}).get("regexes") or Regexes()


def _regex(source: str, info: ValidationInfo) -> str:
    try:
        _regexes(info).compile(source)
    except ValueError as err:
        raise problem(str(err)) from None
    return source


def _template(value: str, info: ValidationInfo) -> str:
    if not value.strip():
        raise problem("应是非空字符串")
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as err:
        raise problem(f"模板有误（{err}）") from None
    allowed = TEMPLATE_FIELDS[str(info.field_name)]
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        raise problem(
            f"用了未知占位符 {', '.join('{' + u + '}' for u in unknown)}"
            f"（可用：{', '.join('{' + a + '}' for a in sorted(allowed))}）"
        )
    return value


Defines = Annotated[dict[str, str], empty_if_none(dict)]
_DEFINES = TypeAdapter(Defines, config=ConfigDict(strict=True))
Regex = Annotated[str, AfterValidator(_regex)]
Template = Annotated[str, AfterValidator(_template)]


class Evidence(Strict):
    manual: Text = Field(description="手册标题")
    slug: str | None = Field(None, description="手册文件名（不含 .md）")
    quote: Text = Field(description="手册中的一句原文（逐字）")


class Swap(Strict):
    match: Regex = Field(description="正则")
    replace: str = Field(description="字符串，可为空表示删除")
    replace_hant: str | None = Field(None, description="繁体文字里的替换（默认：replace 转成繁体）")
    explanation: Template | None = Field(None, description="这一项的改动说明模板")
    suggestion: Template | None = Field(None, description="这一项的建议模板")
    zones: list[Literal["quoted", "reported", "group"]] = Field(
        default_factory=list,
        description="只在这些说话区域里使用（quoted：客户原话的引号内，reported：转述客户的话，"
        "group：草稿称呼一群人）；省略表示客服自己的话",
    )
    edges: Literal["both", "start"] = Field(
        "both",
        description="哪些端点必须落在 jieba 词边界上（start：只看开头，用于以“不”结尾、"
        "常和后一个字连成词的命中，如“……的时候不”+“用”）",
    )

    @model_validator(mode="after")
    def _groups_exist(self, info: ValidationInfo) -> Swap:
        regex = _regexes(info).compile(self.match)
        problems = Problems()
        for name in ("replace", "replace_hant"):
            template = getattr(self, name)
            for m in _GROUP_REF.finditer(template or ""):
                ref = m.group(1) if m.group(1) is not None else m.group(2)
                ok = int(ref) <= regex.groups if ref.isdigit() else ref in regex.groupindex
                if not ok:
                    problems.add((), f"的替换引用了不存在的分组 {m.group(0)}")
                    break
        problems.raise_if_any()
        return self


class Match(Strict):
    match: Regex = Field(description="正则")
    message: Template | None = Field(None, description="这一项的提示模板")
    suggestion: Template | None = Field(None, description="这一项的建议模板")


def _as_match(item: Any) -> Any:
    return item if isinstance(item, dict) else {"match": item}


MatchItem = Annotated[Match, BeforeValidator(_as_match)]  # a bare regex is {match: regex}


class RuleFile(Strict):
    """One rule file. Fields are checked in this order: later checks see earlier fields."""

    id: str = Field(description="规则 id，与文件名相同")
    kind: Literal["substitution", "existence"] = Field(description="substitution | existence")
    severity: Literal["rewrite", "flag"] = Field(description="rewrite | flag")
    description: Text = Field(description="一句话说明这条规则")
    define: Defines = Field({}, description="命名的正则片段，在 match 中写作 {{name}}")
    word_boundary: bool = Field(True, description="命中的首尾必须落在 jieba 词边界上")
    ignore_case: bool = Field(False, description="匹配时不区分大小写")
    protect: bool = Field(True, description="提示的范围内不做自动改写")
    priority: int = Field(0, description="同一位置同样长的命中，priority 高者优先")
    explanation: Template | None = Field(
        None, validate_default=True, description="改动说明模板：{action} {before} {after}"
    )
    message: Template | None = Field(None, validate_default=True, description="提示模板：{text}")
    suggestion: Template | None = Field(None, description="建议模板：{text} {after}")
    swap: list[Swap] | None = Field(
        None,
        validate_default=True,
        description="substitution: [{match, replace, replace_hant, explanation, suggestion}]",
    )
    match: list[MatchItem] | None = Field(
        None, validate_default=True, description="existence: [正则 或 {match, message, suggestion}]"
    )
    exceptions: Annotated[list[Regex], empty_if_none(list)] = Field(
        [], description="正则列表：与其重叠的命中不算"
    )
    needs: Regex | None = Field(None, description="正则：草稿里找不到它就跳过整条规则（只为提速）")
    evidence: Evidence = Field(description="{manual, slug, quote}：手册标题、文件名与逐字引文")

    @classmethod
    def check(cls, data: Any, stem: str | None = None) -> RuleFile:
        """``data`` of the file named ``stem`` validated; ValidationError lists every problem."""
        return cls.model_validate(data, context={"stem": stem, "regexes": Regexes.of(data)})

    def regexes(self) -> Regexes:
        return Regexes(dict(self.define), re.IGNORECASE if self.ignore_case else 0)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str, info: ValidationInfo) -> str:
        if not ID.match(value):
            raise problem(f"应是小写字母、数字和连字符（如 polite-pronoun），而不是 {value!r}")
        stem = (info.context or {}).get("stem")
        if stem is not None and value != stem:
            raise problem(f"id 必须与文件名相同（应为 {stem}）", whole=True)
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str, info: ValidationInfo) -> str:
        if value == "rewrite" and info.data.get("kind") == "existence":
            raise problem("existence 规则只能提示（severity: flag），没有替换可做", whole=True)
        return value

    @field_validator("explanation", "message")
    @classmethod
    def _required_by_severity(cls, value: str | None, info: ValidationInfo) -> str | None:
        needed = {"explanation": "rewrite", "message": "flag"}[str(info.field_name)]
        if value is None and info.data.get("severity") == needed:
            what = "改写规则" if needed == "rewrite" else "提示规则"
            raise problem(f"{what}（severity: {needed}）必须有 {info.field_name}", whole=True)
        return value

    @field_validator("swap")
    @classmethod
    def _swap_by_kind(cls, value: list[Swap] | None, info: ValidationInfo) -> list[Swap] | None:
        kind = info.data.get("kind")
        if kind == "substitution" and not value:
            raise problem("substitution 规则需要非空的 swap 列表", whole=True)
        if kind == "existence" and value is not None:
            raise problem("existence 规则只提示，不能有 swap", whole=True)
        return value

    @field_validator("match")
    @classmethod
    def _match_by_kind(cls, value: list[Match] | None, info: ValidationInfo) -> list[Match] | None:
        kind = info.data.get("kind")
        if kind == "existence" and not value:
            raise problem("existence 规则需要非空的 match 列表", whole=True)
        if kind == "substitution" and value is not None:
            raise problem("substitution 规则用 swap 列出替换，不用 match", whole=True)
        return value


def _label(loc: Loc) -> str:
    """``("swap", 0, "replace")`` as ``swap 第 1 项的 replace``; an item's own regex
    (``swap 第 1 项``'s match) is the item."""
    out, after_item = "", False
    for part in loc:
        if isinstance(part, int):
            out += f" 第 {part + 1} 项"
            after_item = True
            continue
        if after_item:
            out += "" if part == "match" else f"的 {part}"
        else:
            out += f".{part}" if out else str(part)
        after_item = False
    return out


RULE_STYLE = Style(
    label=_label, quote=lambda name: f"“{name}”", root="文件内容应是一个 YAML 映射（key: value）"
)
