"""The drafting pack: knowledge/drafting.yaml, the reply composer's data, loaded and validated.

The pack holds the composer's data: situations with their cue words, the standard phrases per
step, the manual quotes that ground them, time limits and placeholders. It is validated when
loaded by the typed model drafter.models.drafting.DraftingFile (unknown fields and bad values
refused, every problem named with the file, line and key) and cached until the file changes.
Detecting which situation a message is lives in drafter/situations.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from drafter.errors import RulePackError
from drafter.models import drafting as draft_models
from drafter.models.base import issues, yaml_lines
from drafter.state import current

PACK_FILE = "drafting.yaml"
CHANNELS = draft_models.CHANNELS
CONDITIONS = draft_models.CONDITIONS
MAX_PROBLEMS_SHOWN = 5
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
    salutation_named: str | None = None
    unknown_title: str = "先生/女士"
    issue_lines: draft_models.IssueLines | None = None

    def situation(self, sid: str) -> Situation:
        return self.situations[sid]


def _parse(raw: Any, path: Path) -> Pack:
    """The Pack of ``raw`` (the data of the file at ``path``), validated; RulePackError names
    every problem with the file, line and key."""
    try:
        spec = draft_models.DraftingFile.model_validate(raw)
    except ValidationError as err:
        try:
            line = yaml_lines(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            line = yaml_lines("")
        problems = []
        for issue in issues(err, draft_models.DraftingFile, draft_models.style(raw)):
            n = line(issue.loc)
            problems.append(f"{path.name}:{n}: {issue.text}" if n else f"{path.name}: {issue.text}")
        shown = "；".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        tail = f"（另有 {more} 处问题）" if more > 0 else ""
        raise RulePackError(
            f"起草用语文件 {path} 有 {len(problems)} 个问题：{shown}{tail}", problems=problems
        ) from None
    return _build(spec, path)


def _ground(g: draft_models.Ground) -> Ground:
    return Ground(g.slug, g.quote)


def _grounds(gs: list[draft_models.Ground]) -> tuple[Ground, ...]:
    return tuple(_ground(g) for g in gs)


def _build(spec: draft_models.DraftingFile, path: Path) -> Pack:
    """The runtime Pack of a validated drafting file: cue weights, compiled regexes."""
    phrases = {}
    for pid, p in spec.phrases.items():
        shared = _grounds(p.grounds)
        variants = tuple(
            Variant(tuple(v.when), v.texts(), _grounds(v.grounds) or shared)
            for _, v in p.all_variants()
        )
        phrases[pid] = Phrase(pid, tuple(p.steps), variants)
    situations = {}
    for s in spec.situations:
        cues = [(w, STRONG) for w in s.strong]
        cues += [(w, CUE) for w in s.cues]
        cues += [(w, WEAK) for w in s.weak]
        patterns = [(re.compile(src), DECISIVE) for src in s.decisive]
        patterns += [(re.compile(src), PATTERN) for src in s.patterns]
        situations[s.id] = Situation(
            id=s.id,
            label=s.label,
            manual=_ground(s.manual),
            cues=tuple(cues),
            patterns=tuple(patterns),
            compose=tuple(tuple(paragraph) for paragraph in s.compose),
            only_without_substance=s.only_without_substance,
        )
    tl = spec.time_limits
    return Pack(
        path=path,
        steps={step: tuple(markers) for step, markers in spec.steps.items()},
        placeholders=dict(spec.placeholders),
        time_limits={"simple": tl.simple, "complex": tl.complex},
        time_grounds=_grounds(tl.grounds),
        complex_cues=tuple(tl.complex_cues),
        complex_min_facts=tl.complex_min_facts,
        angry_cues=tuple(spec.angry_cues),
        instruction_cues=tuple(spec.instruction_cues),
        instruction_situation=spec.instruction_situation,
        fact_labels=dict(spec.fact_labels),
        ignore_facts=tuple(spec.ignore_facts),
        topics=tuple(Topic(t.label, tuple(t.cues)) for t in spec.topics),
        situations=situations,
        phrases=phrases,
        salutation=spec.email.salutation,
        salutation_named=spec.email.salutation_named,
        unknown_title=spec.email.unknown_title,
        closing_lines=tuple(spec.email.closing_lines),
        issue_lines=spec.issue_lines,
    )


def pack_path() -> Path:
    return current().knowledge_dir / PACK_FILE


def load_pack(path: Path | None = None) -> Pack:
    """The drafting pack of ``path`` (default: the active knowledge's), validated; loaded once
    per version of the knowledge files (the state's one freshness policy)."""
    if path is not None:
        return _read(Path(path))
    return current().artefact("drafting", lambda: _read(pack_path()))


def _read(path: Path) -> Pack:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulePackError(f"找不到起草用语文件 {path}（knowledge/drafting.yaml）。") from None
    except (OSError, UnicodeDecodeError) as err:
        raise RulePackError(f"{path}无法读取：{type(err).__name__}。") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f"第 {line + 1} 行" if line is not None else ""
        raise RulePackError(f"{path}{where}无法解析：{type(err).__name__}。") from None
    return _parse(raw, path)
