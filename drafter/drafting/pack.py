"""The drafting pack: knowledge/drafting.yaml, the reply composer's data, loaded and validated.

The pack holds the composer's data: situations with their cue words, the standard phrases per
step, the manual quotes that ground them, time limits and placeholders. It is validated when
loaded (unknown fields refused, every problem named with the file and the key) and cached
until the file changes. Detecting which situation a message is lives in drafter/situations.py.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drafter.errors import RulePackError
from drafter.state import current

PACK_FILE = "drafting.yaml"
CHANNELS = ("chat", "email")
CONDITIONS = ("topic", "facts", "angry", "complex")
# What a situation's strong / cues / weak words and patterns / decisive regexes score when
# found. drafter/situations.py adds them up; it also scores instruction words as one CUE, and
# counts another situation's score of at least CUE as a real issue beside harassment words.
STRONG, CUE, WEAK, PATTERN, DECISIVE = 3, 2, 1, 2, 10


@dataclass(frozen=True)
class Ground:
    slug: str
    quote: str


@dataclass(frozen=True)
class Variant:
    when: tuple[str, ...]
    texts: dict[str, str]  # channel -> text
    grounds: tuple[Ground, ...]


@dataclass(frozen=True)
class Phrase:
    id: str
    steps: tuple[str, ...]
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Situation:
    id: str
    label: str
    manual: Ground
    cues: tuple[tuple[str, int], ...]  # (word, weight)
    patterns: tuple[tuple[re.Pattern[str], int], ...]  # (regex, weight)
    compose: tuple[tuple[str, ...], ...]  # paragraphs of phrase ids
    only_without_substance: bool = False


@dataclass(frozen=True)
class Topic:
    label: str
    cues: tuple[str, ...]


@dataclass
class Pack:
    path: Path
    steps: dict[str, tuple[str, ...]]  # step -> markers
    placeholders: dict[str, str]
    time_limits: dict[str, int]
    time_grounds: tuple[Ground, ...]
    complex_cues: tuple[str, ...]
    complex_min_facts: int
    angry_cues: tuple[str, ...]
    instruction_cues: tuple[str, ...]
    instruction_situation: str | None
    fact_labels: dict[str, str]
    ignore_facts: tuple[str, ...]
    topics: tuple[Topic, ...]
    situations: dict[str, Situation]  # in priority order
    phrases: dict[str, Phrase]
    salutation: str
    closing_lines: tuple[str, ...]

    def situation(self, sid: str) -> Situation:
        return self.situations[sid]


class _Checker:
    """Collects the problems of one pack file, each named by its key path."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def mapping(
        self, value: Any, where: str, allowed: set[str], required: set[str] = frozenset()
    ) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "应是映射（mapping）")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(where, f"未知字段 {key!r}（可用：{', '.join(sorted(allowed))}）")
        for key in required:
            if key not in value:
                self.fail(where, f"缺少字段 {key!r}")
        return value

    def strings(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.fail(where, "应是字符串列表")
            return ()
        out = tuple(str(v) for v in value)
        if any(not v.strip() for v in out):
            self.fail(where, "列表里有空字符串")
        return out

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "应是非空字符串")
            return ""
        return value

    def ground(self, value: Any, where: str) -> Ground:
        d = self.mapping(value, where, {"slug", "quote"}, {"slug", "quote"})
        return Ground(str(d.get("slug", "")), self.text(d.get("quote"), f"{where}.quote"))

    def grounds(self, value: Any, where: str) -> tuple[Ground, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, "应是 {slug, quote} 列表")
            return ()
        return tuple(self.ground(g, f"{where}[{i}]") for i, g in enumerate(value))

    def regex(self, value: str, where: str) -> re.Pattern[str] | None:
        try:
            return re.compile(value)
        except re.error as err:
            self.fail(where, f"正则表达式无法编译：{err}")
            return None


_TOP = {
    "version",
    "steps",
    "placeholders",
    "time_limits",
    "angry_cues",
    "instruction_cues",
    "instruction_situation",
    "fact_labels",
    "ignore_facts",
    "topics",
    "situations",
    "phrases",
    "email",
}
_SITUATION = {
    "id",
    "label",
    "manual",
    "decisive",
    "strong",
    "cues",
    "weak",
    "patterns",
    "compose",
    "only_without_substance",
}
_PHRASE = {"steps", "grounds", "variants", *CHANNELS}
_VARIANT = {"when", "grounds", *CHANNELS}
_PLACEHOLDER = re.compile(r"【[^】]+】")
_FIELDS = re.compile(r"\{(\w*)\}")
_TEMPLATE_FIELDS = {"team", "hours", "topic", "facts"}


def _parse(raw: Any, path: Path) -> Pack:
    c = _Checker(path)
    top = c.mapping(raw, "(文件顶层)", _TOP, {"version", "steps", "situations", "phrases"})
    if top.get("version") != 1:
        c.fail("version", "只支持 version: 1")

    steps = {}
    for step, markers in c.mapping(top.get("steps"), "steps", set(top.get("steps") or {})).items():
        steps[str(step)] = c.strings(markers, f"steps.{step}")

    placeholders = {}
    for key, hint in (top.get("placeholders") or {}).items():
        if not _PLACEHOLDER.fullmatch(str(key)):
            c.fail(f"placeholders.{key}", "占位符应写成【名称】")
        placeholders[str(key)] = c.text(hint, f"placeholders.{key}")

    tl = c.mapping(
        top.get("time_limits") or {},
        "time_limits",
        {"simple", "complex", "grounds", "complex_cues", "complex_min_facts"},
        {"simple", "complex"},
    )
    limits = {}
    for key in ("simple", "complex"):
        if not isinstance(tl.get(key), int) or tl.get(key) <= 0:
            c.fail(f"time_limits.{key}", "应是正整数（小时）")
        limits[key] = tl.get(key) if isinstance(tl.get(key), int) else 24
    min_facts = tl.get("complex_min_facts", 0)
    if not isinstance(min_facts, int) or min_facts < 0:
        c.fail("time_limits.complex_min_facts", "应是不小于 0 的整数")
        min_facts = 0

    fact_labels = {
        str(k): c.text(v, f"fact_labels.{k}") for k, v in (top.get("fact_labels") or {}).items()
    }

    topics = []
    for i, t in enumerate(top.get("topics") or []):
        d = c.mapping(t, f"topics[{i}]", {"label", "cues"}, {"label", "cues"})
        topics.append(
            Topic(
                c.text(d.get("label"), f"topics[{i}].label"),
                c.strings(d.get("cues"), f"topics[{i}].cues"),
            )
        )

    phrases: dict[str, Phrase] = {}
    for pid, body in c.mapping(
        top.get("phrases"), "phrases", set(top.get("phrases") or {})
    ).items():
        where = f"phrases.{pid}"
        d = c.mapping(body, where, _PHRASE, {"steps"})
        p_steps = c.strings(d.get("steps"), f"{where}.steps")
        for s in p_steps:
            if s not in steps:
                c.fail(f"{where}.steps", f"未知步骤 {s!r}（见 steps）")
        shared = c.grounds(d.get("grounds"), f"{where}.grounds")
        raw_variants = d.get("variants")
        if raw_variants is not None and any(ch in d for ch in CHANNELS):
            c.fail(where, "variants 与 chat/email 不能同时给出")
        if raw_variants is None:
            raw_variants = [{k: d[k] for k in CHANNELS if k in d}]
        if not isinstance(raw_variants, list) or not raw_variants:
            c.fail(f"{where}.variants", "应是非空列表")
            raw_variants = []
        variants = []
        for i, v in enumerate(raw_variants):
            vw = f"{where}.variants[{i}]" if "variants" in d else where
            vd = c.mapping(v, vw, _VARIANT)
            when = c.strings(vd.get("when"), f"{vw}.when")
            for cond in when:
                if cond not in CONDITIONS:
                    c.fail(f"{vw}.when", f"未知条件 {cond!r}（可用：{', '.join(CONDITIONS)}）")
            texts = {ch: c.text(vd[ch], f"{vw}.{ch}") for ch in CHANNELS if ch in vd}
            if not texts:
                c.fail(vw, "至少要有 chat 或 email 的文字")
            for ch, text in texts.items():
                for name in _FIELDS.findall(text):
                    if name not in _TEMPLATE_FIELDS:
                        c.fail(
                            f"{vw}.{ch}",
                            f"未知模板字段 {{{name}}}（可用：{', '.join(sorted(_TEMPLATE_FIELDS))}）",
                        )
                for ph in _PLACEHOLDER.findall(text):
                    if ph not in placeholders:
                        c.fail(f"{vw}.{ch}", f"占位符 {ph} 没有在 placeholders 中说明")
            grounds = c.grounds(vd.get("grounds"), f"{vw}.grounds") or shared
            if not grounds:
                c.fail(vw, "缺少 grounds：每个标准用语都要有手册原文依据")
            variants.append(Variant(when, texts, grounds))
        phrases[str(pid)] = Phrase(str(pid), p_steps, tuple(variants))

    situations: dict[str, Situation] = {}
    raw_situations = top.get("situations")
    if not isinstance(raw_situations, list) or not raw_situations:
        c.fail("situations", "应是非空列表")
        raw_situations = []
    for i, s in enumerate(raw_situations):
        where = f"situations[{i}]"
        d = c.mapping(s, where, _SITUATION, {"id", "label", "manual", "compose"})
        sid = str(d.get("id", ""))
        where = f"situations.{sid or i}"
        if sid in situations:
            c.fail(where, "id 重复")
        cues = [(w, STRONG) for w in c.strings(d.get("strong"), f"{where}.strong")]
        cues += [(w, CUE) for w in c.strings(d.get("cues"), f"{where}.cues")]
        cues += [(w, WEAK) for w in c.strings(d.get("weak"), f"{where}.weak")]
        patterns = []
        for key, weight in (("decisive", DECISIVE), ("patterns", PATTERN)):
            for j, src in enumerate(c.strings(d.get(key), f"{where}.{key}")):
                rx = c.regex(src, f"{where}.{key}[{j}]")
                if rx is not None:
                    patterns.append((rx, weight))
        compose = []
        raw_compose = d.get("compose")
        if not isinstance(raw_compose, list) or not raw_compose:
            c.fail(f"{where}.compose", "应是段落列表（每段是用语 id 的列表）")
            raw_compose = []
        for j, para in enumerate(raw_compose):
            ids = c.strings(para, f"{where}.compose[{j}]")
            for pid in ids:
                if pid not in phrases:
                    c.fail(f"{where}.compose[{j}]", f"未知用语 {pid!r}（见 phrases）")
            compose.append(ids)
        situations[sid] = Situation(
            id=sid,
            label=c.text(d.get("label"), f"{where}.label"),
            manual=c.ground(d.get("manual"), f"{where}.manual"),
            cues=tuple(cues),
            patterns=tuple(patterns),
            compose=tuple(compose),
            only_without_substance=bool(d.get("only_without_substance", False)),
        )
    if (
        top.get("instruction_situation") is not None
        and top["instruction_situation"] not in situations
    ):
        c.fail("instruction_situation", f"未知情况 {top['instruction_situation']!r}")
    if "question" not in situations:
        c.fail("situations", "缺少默认情况 question（一般咨询）")

    em = c.mapping(top.get("email") or {}, "email", {"salutation", "closing_lines"}, {"salutation"})
    pack = Pack(
        path=path,
        steps=steps,
        placeholders=placeholders,
        time_limits=limits,
        time_grounds=c.grounds(tl.get("grounds"), "time_limits.grounds"),
        complex_cues=c.strings(tl.get("complex_cues"), "time_limits.complex_cues"),
        complex_min_facts=min_facts,
        angry_cues=c.strings(top.get("angry_cues"), "angry_cues"),
        instruction_cues=c.strings(top.get("instruction_cues"), "instruction_cues"),
        instruction_situation=top.get("instruction_situation"),
        fact_labels=fact_labels,
        ignore_facts=c.strings(top.get("ignore_facts"), "ignore_facts"),
        topics=tuple(topics),
        situations=situations,
        phrases=phrases,
        salutation=c.text(em.get("salutation"), "email.salutation"),
        closing_lines=c.strings(em.get("closing_lines"), "email.closing_lines"),
    )
    if c.problems:
        more = f"（另有 {len(c.problems) - 1} 处问题）" if len(c.problems) > 1 else ""
        raise RulePackError(f"{path}: {c.problems[0]}{more}", problems=c.problems)
    return pack


_lock = threading.Lock()
_cached: tuple[tuple[str, int, int], Pack] | None = None


def pack_path() -> Path:
    return current().knowledge_dir / PACK_FILE


def load_pack(path: Path | None = None) -> Pack:
    """The drafting pack, validated; cached until the file changes."""
    global _cached
    import yaml

    path = Path(path) if path else pack_path()
    try:
        st = path.stat()
    except OSError:
        raise RulePackError(f"找不到起草用语文件 {path}（knowledge/drafting.yaml）。") from None
    stamp = (str(path), st.st_mtime_ns, st.st_size)
    with _lock:
        if _cached is not None and _cached[0] == stamp:
            return _cached[1]
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            line = getattr(getattr(err, "problem_mark", None), "line", None)
            where = f"第 {line + 1} 行" if line is not None else ""
            raise RulePackError(f"{path}{where}无法解析：{type(err).__name__}。") from None
        pack = _parse(raw, path)
        _cached = (stamp, pack)
        return pack
