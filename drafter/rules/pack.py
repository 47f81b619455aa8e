"""The rule pack: one YAML file per rule under knowledge/rules/, validated when loaded.

The format is documented in knowledge/rules/README.md and checked by the typed model
drafter.models.rules.RuleFile. Loading refuses unknown fields and bad values and names every
problem with its file, line and rule id (RulePackError). Regexes are compiled and citations
resolved once per pack; the pack is cached until a rule file or a manual changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from drafter.errors import DrafterError, RulePackError
from drafter.knowledge import corpus
from drafter.models import rules as rule_models
from drafter.models.base import issues, yaml_lines
from drafter.rules.model import Evidence, Pattern, Rule, RulePack
from drafter.state import current
from drafter.types import Citation

KINDS = rule_models.KINDS
SEVERITIES = rule_models.SEVERITIES


# --------------------------------------------------------------------------- validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, rule_id: str | None, problem: str, line: int | None = None) -> None:
        where = f"{path.name}:{line}" if line else path.name
        self.items.append(f"{where} [{rule_id or '?'}]: {problem}")


def _parse_rule(data: Any, text: str, path: Path, problems: _Problems) -> Rule | None:
    """The rule of one file (``data`` parsed from ``text``), or None with its problems added."""
    try:
        spec = rule_models.RuleFile.check(data, path.stem)
    except ValidationError as err:
        rid = data.get("id") if isinstance(data, dict) else None
        rid = rid if isinstance(rid, str) else None
        line = yaml_lines(text)
        for issue in issues(err, rule_models.RuleFile, rule_models.RULE_STYLE):
            problems.add(path, rid, issue.text, line(issue.loc))
        return None
    return _build(spec, path)


def _build(spec: rule_models.RuleFile, path: Path) -> Rule:
    """The compiled rule of a validated rule file."""
    regexes = spec.regexes()
    if spec.kind == "substitution":
        patterns = [
            Pattern(
                regexes.compile(s.match),
                s.match,
                s.replace,
                s.replace_hant,
                s.explanation,
                None,
                s.suggestion,
                tuple(s.zones),
                s.edges == "start",
            )
            for s in spec.swap or ()
        ]
    else:
        patterns = [
            Pattern(regexes.compile(m.match), m.match, None, None, None, m.message, m.suggestion)
            for m in spec.match or ()
        ]
    ev = spec.evidence
    return Rule(
        id=spec.id,
        kind=spec.kind,
        severity=spec.severity,
        description=spec.description.strip(),
        patterns=tuple(patterns),
        evidence=Evidence(ev.manual.strip(), ev.quote.strip(), ev.slug),
        path=path,
        exceptions=tuple(regexes.compile(source) for source in spec.exceptions),
        needs=regexes.compile(spec.needs) if spec.needs is not None else None,
        word_boundary=spec.word_boundary,
        explanation=spec.explanation,
        message=spec.message,
        suggestion=spec.suggestion,
        protect=spec.protect,
        priority=spec.priority,
    )


def _yaml_load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


def load_pack(
    directory: Path | None = None,
    locate: Callable[[str, str | None], Citation | None] | None = None,
) -> RulePack:
    """Load and validate every ``*.yaml`` rule of ``directory`` (default: the rules folder).

    ``locate`` resolves each rule's evidence quote to a citation (default: the corpus).
    """
    import yaml

    directory = Path(directory) if directory is not None else current().rules_dir
    if not directory.is_dir():
        raise RulePackError(
            f"找不到规则目录 {directory}（rules folder missing）。", directory=str(directory)
        )
    problems = _Problems()
    rules: list[Rule] = []
    for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
        try:
            text = path.read_text(encoding="utf-8")
            data = _yaml_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problems.add(path, None, f"YAML 格式错误：{getattr(err, 'problem', err)}", line)
            continue
        except (OSError, UnicodeDecodeError) as err:
            problems.add(path, None, f"无法读取（{err}）")
            continue
        rule = _parse_rule(data, text, path, problems)
        if rule is not None:
            if any(r.id == rule.id for r in rules):
                problems.add(path, rule.id, "id 重复")
                continue
            rules.append(rule)
    if problems.items:
        raise RulePackError(
            f"规则包 {directory} 有 {len(problems.items)} 个问题：" + "；".join(problems.items),
            problems=list(problems.items),
            directory=str(directory),
        )
    if not rules:
        raise RulePackError(
            f"规则目录 {directory} 里没有规则文件（*.yaml）。", directory=str(directory)
        )
    pack = RulePack(rules=rules, directory=directory)
    pack.citations = _resolve_citations(rules, locate)
    return pack


def _default_locate(quote: str, slug: str | None) -> Citation | None:

    return corpus.locate(quote, slug)


def _resolve_citations(
    rules: list[Rule], locate: Callable[[str, str | None], Citation | None] | None
) -> dict[str, Citation | None]:
    """Each rule's evidence as a verified citation, or None: a quote is never invented."""
    locate = locate or _default_locate
    out: dict[str, Citation | None] = {}
    for rule in rules:
        ev = rule.evidence
        try:
            found = locate(ev.quote, ev.slug)
            if found is None and ev.slug is not None:
                found = locate(ev.quote, None)  # the manual was renamed: any manual will do
        except DrafterError:
            found = None  # no corpus (no manuals yet): the rule is ungrounded, not broken
        out[rule.id] = found
    return out


# --------------------------------------------------------------------------- cached pack


def get_pack(directory: Path | None = None) -> RulePack:
    """The rule pack of ``directory`` (default: the active knowledge's rules), loaded once per
    version of the knowledge files (the state's one freshness policy)."""
    state = current()
    folder = Path(directory) if directory is not None else state.rules_dir
    return state.artefact(f"rules:{folder}", lambda: load_pack(folder))
