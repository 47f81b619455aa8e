"""The team's small knowledge files (speech.yaml, guard.yaml, analysis.yaml …): where each is,
and reading one into its typed model, every failure one clear sentence (RulePackError)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from drafter import settings
from drafter.errors import RulePackError
from drafter.models.base import Style, issues
from drafter.state import current

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def knowledge_file(name: str) -> Path:
    """The active knowledge's ``name``; a folder without it (an older copy) uses the bundled
    one."""
    own = current().knowledge_dir / name
    return own if own.is_file() else settings.bundled_knowledge_dir() / name


def read_model(path: Path, model: type[M], what: str, build: Callable[[M], T]) -> T:
    """``build`` of the file at ``path`` validated by ``model``; ``what`` names the file in
    the sentence a failure ends in (说话人规则文件, 改写检查文件 …)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise RulePackError(f"无法读取{what} {path}（{type(err).__name__}）。") from None
    try:
        spec = model.model_validate(raw)
    except ValidationError as err:
        style = Style(label=lambda loc: ".".join(str(p) for p in loc))
        found = "；".join(i.text for i in issues(err, model, style)[:3])
        raise RulePackError(f"{what} {path} 有问题：{found}") from None
    try:
        return build(spec)
    except re.error as err:
        raise RulePackError(f"{what} {path} 中的正则表达式无法编译：{err}") from None
