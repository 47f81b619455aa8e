"""The rule pack: one YAML file per rule under knowledge/rules/, validated when loaded.

The format is documented in knowledge/rules/README.md. Loading refuses unknown fields and
names every problem with its file and rule id (RulePackError). Regexes are compiled and
citations resolved once per pack; the pack is cached until a rule file or a manual changes.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drafter.errors import DrafterError, RulePackError
from drafter.rules.model import Evidence, Pattern, Rule, RulePack
from drafter.state import current
from drafter.types import Citation

KINDS = ("substitution", "existence")
SEVERITIES = ("rewrite", "flag")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_DEFINE_REF = re.compile(r"\{\{(\w+)\}\}")
_GROUP_REF = re.compile(r"\\g<(\w+)>|\\(\d+)")

_TOP_FIELDS = {
    "id": "规则 id，与文件名相同",
    "kind": "substitution | existence",
    "severity": "rewrite | flag",
    "description": "一句话说明",
    "define": "命名的正则片段，在 match 中写作 {{name}}",
    "swap": "substitution: [{match, replace, replace_hant, explanation, suggestion}]",
    "match": "existence: [正则 或 {match, message, suggestion}]",
    "exceptions": "正则列表：与其重叠的命中不算",
    "needs": "正则：草稿里找不到它就跳过整条规则（只为提速）",
    "word_boundary": "命中的首尾必须落在 jieba 词边界上（默认 true）",
    "ignore_case": "匹配时不区分大小写（默认 false）",
    "explanation": "改动说明模板：{action} {before} {after}",
    "message": "提示模板：{text}",
    "suggestion": "建议模板：{text} {after}",
    "protect": "提示的范围内不做自动改写（默认 true）",
    "priority": "同一位置同样长的命中，priority 高者优先（默认 0）",
    "evidence": "{manual, slug, quote}：手册标题、文件名与逐字引文",
}
_SWAP_FIELDS = {"match", "replace", "replace_hant", "explanation", "suggestion"}
_MATCH_FIELDS = {"match", "message", "suggestion"}
_EVIDENCE_FIELDS = {"manual", "slug", "quote"}
_TEMPLATE_FIELDS = {
    "explanation": {"action", "before", "after"},
    "message": {"text", "after"},
    "suggestion": {"text", "after"},
}


# --------------------------------------------------------------------------- validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, rule_id: str | None, problem: str) -> None:
        self.items.append(f"{path.name} [{rule_id or '?'}]: {problem}")


def _check_template(value: Any, name: str, path: Path, rid: str, problems: _Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(path, rid, f"“{name}”应是非空字符串")
        return None
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as err:
        problems.add(path, rid, f"“{name}”模板有误（{err}）")
        return None
    allowed = _TEMPLATE_FIELDS[name]
    unknown = sorted(f for f in fields if f not in allowed)
    if unknown:
        problems.add(
            path,
            rid,
            f"“{name}”用了未知占位符 {', '.join('{' + u + '}' for u in unknown)}"
            f"（可用：{', '.join('{' + a + '}' for a in sorted(allowed))}）",
        )
        return None
    return value


def _compile(
    source: Any,
    what: str,
    defines: dict[str, str],
    flags: int,
    path: Path,
    rid: str,
    problems: _Problems,
) -> re.Pattern[str] | None:
    if not isinstance(source, str) or not source:
        problems.add(path, rid, f"{what} 应是非空的正则字符串")
        return None

    def expand(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in defines:
            raise KeyError(name)
        return defines[name]

    try:
        expanded = _DEFINE_REF.sub(expand, source)
    except KeyError as err:
        problems.add(path, rid, f"{what} 引用了未定义的片段 {{{{{err.args[0]}}}}}")
        return None
    try:
        regex = re.compile(expanded, flags)
    except re.error as err:
        problems.add(path, rid, f"{what} 不是有效的正则（{err}）：{source}")
        return None
    if regex.match("") is not None or regex.search("") is not None:
        problems.add(path, rid, f"{what} 能匹配空字符串：{source}")
        return None
    return regex


def _check_groups(
    replace: str, regex: re.Pattern[str], what: str, path: Path, rid: str, problems: _Problems
) -> bool:
    for m in _GROUP_REF.finditer(replace):
        name, number = m.group(1), m.group(2)
        ref = name if name is not None else number
        if ref.isdigit():
            ok = int(ref) <= regex.groups
        else:
            ok = ref in regex.groupindex
        if not ok:
            problems.add(path, rid, f"{what} 的替换引用了不存在的分组 {m.group(0)}")
            return False
    return True


def _parse_rule(data: Any, path: Path, problems: _Problems) -> Rule | None:
    stem = path.stem
    if not isinstance(data, dict):
        problems.add(path, None, "文件内容应是一个 YAML 映射（key: value）")
        return None
    rid = data.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        problems.add(
            path,
            None if not isinstance(rid, str) else rid,
            "缺少 id，或 id 不是小写字母、数字和连字符",
        )
        rid_s = rid if isinstance(rid, str) else None
    else:
        rid_s = rid
        if rid != stem:
            problems.add(path, rid, f"id 必须与文件名相同（应为 {stem}）")
    before = len(problems.items)

    for key in data:
        if key not in _TOP_FIELDS:
            problems.add(path, rid_s, f"未知字段“{key}”（可用字段：{', '.join(_TOP_FIELDS)}）")

    kind = data.get("kind")
    if kind not in KINDS:
        problems.add(path, rid_s, f"kind 应是 {' 或 '.join(KINDS)}，而不是 {kind!r}")
    severity = data.get("severity")
    if severity not in SEVERITIES:
        problems.add(path, rid_s, f"severity 应是 {' 或 '.join(SEVERITIES)}，而不是 {severity!r}")
    if kind == "existence" and severity == "rewrite":
        problems.add(path, rid_s, "existence 规则只能提示（severity: flag），没有替换可做")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.add(path, rid_s, "缺少 description（一句话说明这条规则）")

    bools = {}
    for name, default in (("word_boundary", True), ("ignore_case", False), ("protect", True)):
        value = data.get(name, default)
        if not isinstance(value, bool):
            problems.add(path, rid_s, f"{name} 应是 true 或 false")
        bools[name] = bool(value)
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        problems.add(path, rid_s, "priority 应是整数")
        priority = 0

    defines = data.get("define") or {}
    if not isinstance(defines, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in defines.items()
    ):
        problems.add(path, rid_s, "define 应是 名称: 正则片段 的映射")
        defines = {}
    flags = re.IGNORECASE if bools["ignore_case"] else 0

    explanation = _check_template(
        data.get("explanation"), "explanation", path, rid_s or "?", problems
    )
    message = _check_template(data.get("message"), "message", path, rid_s or "?", problems)
    suggestion = _check_template(data.get("suggestion"), "suggestion", path, rid_s or "?", problems)
    if severity == "rewrite" and explanation is None and "explanation" not in data:
        problems.add(path, rid_s, "改写规则（severity: rewrite）必须有 explanation")
    if severity == "flag" and message is None and "message" not in data:
        problems.add(path, rid_s, "提示规则（severity: flag）必须有 message")

    patterns: list[Pattern] = []
    if kind == "substitution":
        if "match" in data:
            problems.add(path, rid_s, "substitution 规则用 swap 列出替换，不用 match")
        swaps = data.get("swap")
        if not isinstance(swaps, list) or not swaps:
            problems.add(path, rid_s, "substitution 规则需要非空的 swap 列表")
            swaps = []
        for i, item in enumerate(swaps, 1):
            what = f"swap 第 {i} 项"
            if not isinstance(item, dict):
                problems.add(path, rid_s, f"{what} 应是 {{match, replace}} 映射")
                continue
            for key in item:
                if key not in _SWAP_FIELDS:
                    problems.add(
                        path,
                        rid_s,
                        f"{what} 有未知字段“{key}”（可用：{', '.join(sorted(_SWAP_FIELDS))}）",
                    )
            regex = _compile(item.get("match"), what, defines, flags, path, rid_s or "?", problems)
            replace = item.get("replace")
            if not isinstance(replace, str):
                problems.add(path, rid_s, f"{what} 缺少 replace（字符串，可为空表示删除）")
                continue
            hant = item.get("replace_hant")
            if hant is not None and not isinstance(hant, str):
                problems.add(path, rid_s, f"{what} 的 replace_hant 应是字符串")
                continue
            if regex is None:
                continue
            ok = _check_groups(replace, regex, what, path, rid_s or "?", problems)
            if hant is not None:
                ok = _check_groups(hant, regex, what, path, rid_s or "?", problems) and ok
            expl = _check_template(
                item.get("explanation"), "explanation", path, rid_s or "?", problems
            )
            sugg = _check_template(
                item.get("suggestion"), "suggestion", path, rid_s or "?", problems
            )
            if ok:
                patterns.append(Pattern(regex, item["match"], replace, hant, expl, None, sugg))
    elif kind == "existence":
        if "swap" in data:
            problems.add(path, rid_s, "existence 规则只提示，不能有 swap")
        items = data.get("match")
        if not isinstance(items, list) or not items:
            problems.add(path, rid_s, "existence 规则需要非空的 match 列表")
            items = []
        for i, item in enumerate(items, 1):
            what = f"match 第 {i} 项"
            msg = sugg = None
            if isinstance(item, dict):
                for key in item:
                    if key not in _MATCH_FIELDS:
                        problems.add(
                            path,
                            rid_s,
                            f"{what} 有未知字段“{key}”（可用：{', '.join(sorted(_MATCH_FIELDS))}）",
                        )
                msg = _check_template(item.get("message"), "message", path, rid_s or "?", problems)
                sugg = _check_template(
                    item.get("suggestion"), "suggestion", path, rid_s or "?", problems
                )
                source = item.get("match")
            else:
                source = item
            regex = _compile(source, what, defines, flags, path, rid_s or "?", problems)
            if regex is not None:
                patterns.append(Pattern(regex, source, None, None, None, msg, sugg))

    exceptions = []
    raw_exc = data.get("exceptions") or []
    if not isinstance(raw_exc, list):
        problems.add(path, rid_s, "exceptions 应是正则列表")
        raw_exc = []
    for i, source in enumerate(raw_exc, 1):
        regex = _compile(
            source, f"exceptions 第 {i} 项", defines, flags, path, rid_s or "?", problems
        )
        if regex is not None:
            exceptions.append(regex)

    needs = None
    if data.get("needs") is not None:
        needs = _compile(data.get("needs"), "needs", defines, flags, path, rid_s or "?", problems)

    evidence = None
    ev = data.get("evidence")
    if not isinstance(ev, dict):
        problems.add(path, rid_s, "缺少 evidence（手册标题 manual 与逐字引文 quote）")
    else:
        for key in ev:
            if key not in _EVIDENCE_FIELDS:
                problems.add(
                    path, rid_s, f"evidence 有未知字段“{key}”（可用：manual, slug, quote）"
                )
        manual, quote, slug = ev.get("manual"), ev.get("quote"), ev.get("slug")
        if not isinstance(manual, str) or not manual.strip():
            problems.add(path, rid_s, "evidence.manual 应是手册标题")
        if not isinstance(quote, str) or not quote.strip():
            problems.add(path, rid_s, "evidence.quote 应是手册中的一句原文（逐字）")
        if slug is not None and not isinstance(slug, str):
            problems.add(path, rid_s, "evidence.slug 应是手册文件名（不含 .md）")
        if (
            isinstance(manual, str)
            and isinstance(quote, str)
            and (slug is None or isinstance(slug, str))
        ):
            evidence = Evidence(manual.strip(), quote.strip(), slug)

    if len(problems.items) > before or evidence is None or rid_s is None:
        return None
    return Rule(
        id=rid_s,
        kind=kind,
        severity=severity,
        description=description.strip(),
        patterns=tuple(patterns),
        evidence=evidence,
        path=path,
        exceptions=tuple(exceptions),
        needs=needs,
        word_boundary=bools["word_boundary"],
        explanation=explanation,
        message=message,
        suggestion=suggestion,
        protect=bools["protect"],
        priority=priority,
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
            data = _yaml_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"第 {mark.line + 1} 行" if mark is not None else ""
            problems.add(path, None, f"YAML 格式错误{where}：{getattr(err, 'problem', err)}")
            continue
        except (OSError, UnicodeDecodeError) as err:
            problems.add(path, None, f"无法读取（{err}）")
            continue
        rule = _parse_rule(data, path, problems)
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
    from drafter.knowledge import corpus

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

_lock = threading.Lock()
_cache: dict[str, tuple[str, RulePack, float]] = {}


def _stamp(directory: Path) -> str:
    parts = []
    for folder in (directory, current().manuals_dir):
        if folder.is_dir():
            for p in sorted(folder.iterdir()):
                if p.suffix in (".yaml", ".yml", ".md"):
                    st = p.stat()
                    parts.append(f"{p.name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts)


RECHECK_SECONDS = 1.0  # how often get_pack looks at the files again (a stat per rule file)


def get_pack(directory: Path | None = None) -> RulePack:
    """The rule pack of ``directory``, loaded once and reloaded when a rule or manual changes.

    Files are looked at again at most every RECHECK_SECONDS, so a busy engine pays no stat calls.
    """
    directory = Path(directory) if directory is not None else current().rules_dir
    key = str(directory)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[2] < RECHECK_SECONDS:
            return hit[1]
    stamp = _stamp(directory)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            _cache[key] = (stamp, hit[1], now)
            return hit[1]
    pack = load_pack(directory)
    with _lock:
        _cache[key] = (stamp, pack, now)
    return pack
