"""The compiled rules the engine applies: patterns, rules, and the pack that holds them.

These objects are built by drafter.rules.pack, which loads and validates knowledge/rules/;
the engine (drafter.rules.engine) only reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from drafter.rules import prefilter
from drafter.text.script import to_traditional
from drafter.types import Citation


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern of a rule, with what it becomes."""

    regex: re.Pattern[str]
    source: str
    replace: str | None = None
    replace_hant: str | None = None
    explanation: str | None = None
    message: str | None = None
    suggestion: str | None = None
    # Where the pattern applies: () = the agent's own speech and quoted customer words (flagged
    # there); "quoted" / "reported" = only inside the customer's words; "group" = only when the
    # draft addresses a group (see drafter/rules/zones.py).
    zones: tuple[str, ...] = ()
    # Only the start must fall on a word boundary (a hit ending in 不, glued to the next word).
    start_edge_only: bool = False
    # Derived from ``replace`` when the pattern is built (see __post_init__).
    _templates: tuple[str, str] = field(init=False, repr=False, compare=False, default=("", ""))
    _literal: bool = field(init=False, repr=False, compare=False, default=True)
    script_sensitive: bool = field(init=False, repr=False, compare=False, default=False)
    # Character sets every match needs one of (drafter/rules/prefilter.py): a draft that misses
    # one is not searched.
    required: tuple[frozenset[str], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "required", prefilter.required(self.regex))
        if self.replace is not None:
            hant = (
                self.replace_hant if self.replace_hant is not None else to_traditional(self.replace)
            )
            object.__setattr__(self, "_templates", (self.replace, hant))
            object.__setattr__(self, "_literal", "\\" not in self.replace + hant)
            object.__setattr__(self, "script_sensitive", hant != self.replace)

    def render(self, m: re.Match[str], hant: bool) -> str:
        """The replacement for match ``m`` in the script of the text it replaces."""
        template = self._templates[1 if hant else 0]
        return template if self._literal else m.expand(template)


@dataclass(frozen=True)
class Evidence:
    manual: str
    quote: str
    slug: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: str
    description: str
    patterns: tuple[Pattern, ...]
    evidence: Evidence
    path: Path
    exceptions: tuple[re.Pattern[str], ...] = ()
    needs: re.Pattern[str] | None = None
    word_boundary: bool = True
    explanation: str | None = None
    message: str | None = None
    suggestion: str | None = None
    protect: bool = True
    priority: int = 0

    @property
    def rewrites(self) -> bool:
        return self.severity == "rewrite"


@dataclass
class RulePack:
    rules: list[Rule]
    directory: Path
    citations: dict[str, Citation | None] = field(default_factory=dict)

    def by_id(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def citation(self, rule_id: str) -> Citation | None:
        return self.citations.get(rule_id)

    def ungrounded(self) -> list[str]:
        """Ids of rules whose evidence quote was not found in the manuals."""
        return [r.id for r in self.rules if self.citations.get(r.id) is None]
