"""The general cleaner: a scraped manual page (text or HTML) to the manual's own text.

Site chrome is recognised by patterns kept as data in knowledge/cleaning.yaml, decided per
line or per block, never by per-file line numbers. Preview pages split mid-sentence are
rejoined. What stays is verbatim apart from whitespace, because rule citations later quote
sentences from these manuals character for character.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from drafter import settings
from drafter.errors import DrafterError
from drafter.knowledge.html_text import html_to_text, looks_like_html
from drafter.state import current


@dataclass(frozen=True)
class CleanedManual:
    title: str
    text: str
    source_site: str
    source_file: str


# --------------------------------------------------------------------------- rules (data)


@dataclass(frozen=True)
class Site:
    name: str
    domain: str
    aliases: tuple[str, ...]

    @property
    def label(self) -> str:
        return (
            f"{self.name} ({self.domain})"
            if self.name and self.domain
            else self.name or self.domain
        )


@dataclass(frozen=True)
class Rules:
    """knowledge/cleaning.yaml, compiled."""

    chrome: tuple[re.Pattern[str], ...]
    max_chrome_line_chars: int
    weak: tuple[re.Pattern[str], ...]
    weak_max_line_chars: int
    nav_line: re.Pattern[str]
    related_heading: re.Pattern[str]
    section_heading: re.Pattern[str]
    list_item_max_chars: int
    prefixes: tuple[re.Pattern[str], ...]
    page_min_mean_chars: int
    file_name_line: re.Pattern[str]
    title_suffixes: tuple[str, ...]
    sites: tuple[Site, ...]
    ignore_domains: tuple[str, ...]
    html_skip_tags: frozenset[str]
    html_max_link_density: float


def rules_path() -> Path:
    """The team's cleaning.yaml, else the bundled one (a custom knowledge dir may lack it)."""
    for candidate in (
        current().knowledge_dir / "cleaning.yaml",
        settings.bundled_knowledge_dir() / "cleaning.yaml",
    ):
        if candidate.is_file():
            return candidate
    raise DrafterError("找不到清洗规则文件 knowledge/cleaning.yaml（cleaning rules not found）。")


def load_rules(path: Path | None = None) -> Rules:
    """The cleaning rules of ``path``, else the active knowledge's (reloaded when it changes)."""
    if path is not None:
        return _parse_rules(str(path))
    return current().artefact("cleaning", lambda: _parse_rules(str(rules_path())))


def _parse_rules(path: str) -> Rules:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise DrafterError(f"清洗规则文件 {path} 不是合法的 YAML：{err}") from None

    def rx(pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern)
        except re.error as err:
            raise DrafterError(
                f"清洗规则文件 {path} 中的模式 {pattern!r} 无法编译：{err}"
            ) from None

    def words(key: str) -> str:
        return "|".join(re.escape(w) for w in data.get(key, []))

    sites = tuple(
        Site(s.get("name", ""), s.get("domain", "") or "", tuple(s.get("aliases", [])))
        for s in data.get("sites", [])
    )
    site_words = [re.escape(a) for s in sites for a in s.aliases]
    chrome = [rx(p) for group in (data.get("line_patterns") or {}).values() for p in group]
    if site_words:  # a line naming a known scraping site is that site's chrome
        chrome.append(rx("|".join(site_words)))
    weak = data.get("weak_patterns") or {}
    title = data.get("title") or {}
    exts = "|".join(re.escape(e) for e in title.get("doc_extensions", ["doc", "pdf"]))
    badges = "|".join(re.escape(b) for b in title.get("badges", [])) or "(?!)"
    html = data.get("html") or {}
    return Rules(
        chrome=tuple(chrome),
        max_chrome_line_chars=int(data.get("max_chrome_line_chars", 600)),
        weak=tuple(rx(p) for p in weak.get("patterns", [])),
        weak_max_line_chars=int(weak.get("max_line_chars", 200)),
        nav_line=rx(rf"^(?:(?:{words('nav_words') or '(?!)'})\s*[|/·]?\s*)+$"),
        related_heading=rx(
            rf"^(?:{words('related_list_headings') or '(?!)'})\s*[:：]?\s*(?:[(（]\d*[)）])?$"
        ),
        section_heading=rx(rf"^(?:{words('chrome_section_headings') or '(?!)'})\s*[:：]?$"),
        list_item_max_chars=int(data.get("list_item_max_chars", 120)),
        prefixes=tuple(rx(p) for p in data.get("line_prefixes", [])),
        page_min_mean_chars=int((data.get("pages") or {}).get("min_mean_chars", 100)),
        # the whole line is a file name: no sentence punctuation or colon before the extension
        file_name_line=rx(rf"^(?P<stem>[^。！？!?:：\n]{{1,120}}?)\.(?:{exts})(?:{badges})?$"),
        title_suffixes=tuple(title.get("suffixes", [])),
        sites=sites,
        ignore_domains=tuple(data.get("ignore_domains", [])),
        html_skip_tags=frozenset(html.get("skip_tags", ["script", "style"])),
        html_max_link_density=float(html.get("max_link_density", 0.5)),
    )


# --------------------------------------------------------------------------- lines


_SPACES = str.maketrans(
    {
        c: " "
        for c in "\t\u3000\xa0\u2002\u2003\u2004\u2005\u2006\u2007"
        "\u2008\u2009\u200a\u202f\u205f\x0b\x0c"
    }
)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SENTENCE_END = tuple("。！？!?.…；;”’」』）)】")
_SENTENCE_PUNCT = re.compile("[。，！？；“”‘’]")
_BULLET = re.compile(r"^(?:[-*•·▪●○◆]\s*|\d{1,3}[.、)）]\s*|[(（]\d{1,3}[)）]\s*)")


def normalize_lines(text: str) -> list[str]:
    """Lines with full-width/NBSP spaces folded, space runs collapsed and ends trimmed."""
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n").translate(_SPACES))
    return [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]


def _is_chrome_line(line: str, rules: Rules) -> bool:
    if not line:
        return False
    if rules.nav_line.match(line) or rules.file_name_line.match(line):
        return True
    if len(line) > rules.max_chrome_line_chars:  # a whole page of the manual on one line
        return False
    if any(p.search(line) for p in rules.chrome):
        return True
    if len(line) > rules.weak_max_line_chars:
        return False
    hits = sum(1 for p in rules.weak if p.search(line))
    return hits >= 3 or (hits >= 2 and not _SENTENCE_PUNCT.search(line))


def _next_text(lines: list[str], start: int) -> int | None:
    return next((k for k in range(start, len(lines)) if lines[k]), None)


def _related_list_end(lines: list[str], start: int, rules: Rules) -> int:
    """End (exclusive) of the list under a related-documents heading at start - 1."""
    first = _next_text(lines, start)
    if first is None:
        return len(lines)
    bulleted = bool(_BULLET.match(lines[first]))
    end, j = start, first
    while j < len(lines):
        line = lines[j]
        if not line:
            nxt = _next_text(lines, j)
            if not bulleted or nxt is None or not _BULLET.match(lines[nxt]):
                break  # a blank line ends an unbulleted list; bulleted items may be spaced out
            j = nxt
            continue
        is_item = bool(_BULLET.match(line)) if bulleted else not line.endswith(_SENTENCE_END)
        if not is_item or len(line) > rules.list_item_max_chars:
            break
        j += 1
        end = j
    return end


def _mask_sandwiched_items(lines: list[str], mask: list[bool]) -> None:
    """A numbered item between two chrome items is chrome too (disclaimer item 5 of 1–8)."""
    changed = True
    while changed:
        changed = False
        for i in range(1, len(lines) - 1):
            if (
                not mask[i]
                and _BULLET.match(lines[i])
                and all(mask[k] and _BULLET.match(lines[k]) for k in (i - 1, i + 1))
            ):
                mask[i] = changed = True


def _chrome_mask(lines: list[str], rules: Rules) -> list[bool]:
    mask = [_is_chrome_line(line, rules) for line in lines]
    _mask_sandwiched_items(lines, mask)
    for i, line in enumerate(lines):
        if line and rules.related_heading.match(line):
            for k in range(i, _related_list_end(lines, i + 1, rules)):
                mask[k] = True
    # backwards, so a chain of chrome headings (温馨提示 then 特别说明 …) is seen whole
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] and rules.section_heading.match(lines[i]):
            nxt = _next_text(lines, i + 1)
            mask[i] = nxt is None or mask[nxt]
    return mask


def _strip_prefixes(lines: list[str], rules: Rules, dropped: list[str]) -> list[str]:
    out = []
    for line in lines:
        changed = True
        while changed:
            changed = False
            for pattern in rules.prefixes:
                m = pattern.match(line)
                if m and m.end() > 0:
                    dropped.append(m.group(0))
                    line, changed = line[m.end() :].lstrip(), True
        out.append(line)
    return out


# --------------------------------------------------------------------------- pages


_COUNTER = re.compile(r"^(\d{1,3})、")


def _page_run(paras: list[str], start: int, rules: Rules) -> int:
    """Length of a run of preview pages `1、` `2、` … starting at paras[start], else 0."""
    n = 0
    while start + n < len(paras):
        m = _COUNTER.match(paras[start + n])
        if not m or int(m.group(1)) != n + 1:
            break
        n += 1
    if n < 2:
        return 0
    body = [_COUNTER.sub("", p, count=1) for p in paras[start : start + n - 1]]
    cut = any(not p.endswith(_SENTENCE_END) for p in body)
    long_pages = sum(map(len, body)) / len(body) >= rules.page_min_mean_chars
    return n if cut and long_pages else 0


def rejoin_pages(text: str, rules: Rules) -> str:
    """Strip preview page counters and glue the pages: `…基本的\\n\\n2、信任…` -> `…基本的信任…`."""
    paras = text.split("\n\n")
    out, i = [], 0
    while i < len(paras):
        n = _page_run(paras, i, rules)
        if n:
            # no separator: the site cut the text anywhere, even inside a word
            out.append("".join(_COUNTER.sub("", p, count=1) for p in paras[i : i + n]))
            i += n
        else:
            out.append(paras[i])
            i += 1
    return "\n\n".join(out)


# --------------------------------------------------------------------------- title and site


_SECTION = re.compile(
    r"第[一二三四五六七八九十百零〇\d]+[章节部分篇讲课]\s*[、:：]?\s*"
    r"(?P<name>[^\s—–\-\d、，。：:；;！!？?（(*]{2,20})"
)


def _file_name_title(lines: list[str], rules: Rules) -> str:
    for line in lines:
        m = rules.file_name_line.match(line)
        if m and not _BULLET.match(line):
            stem = m.group("stem").strip()
            for suffix in rules.title_suffixes:
                if stem.endswith(suffix) and len(stem) - len(suffix) >= 4:
                    stem = stem[: -len(suffix)]
            return stem
    return ""


def _repeated_title(lines: list[str]) -> str:
    """A short label line that the page repeats at its top (危机事件培训教材 twice)."""
    texts = [line for line in lines if line]
    counts = Counter(texts)
    for line in texts[:5]:
        if counts[line] >= 2 and len(line) <= 50 and not _SENTENCE_PUNCT.search(line):
            return line
    return ""


def _heading_title(text: str) -> str:
    """The most frequent section heading: slides repeat it (第四节 不同情况下的标准用语—续)."""
    names = [m.group("name") for m in _SECTION.finditer(text)]
    return Counter(names).most_common(1)[0][0] if names else ""


def _strip_leading(lines: list[str], titles: set[str]) -> list[str]:
    """Drop title lines at the top: a title is metadata, not the manual's first sentence."""
    i = 0
    while i < len(lines) and (not lines[i] or lines[i] in titles):
        i += 1
    return lines[i:]


_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:https?://)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?![\w-])", re.IGNORECASE
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _registrable(host: str) -> str:
    parts = host.lower().split(".")
    keep = 3 if len(parts) >= 3 and parts[-2] in ("com", "net", "org", "gov", "edu") else 2
    return ".".join(parts[-keep:])


def detect_site(chrome: str, rules: Rules) -> str:
    """The scraping site, from names and domains seen in the chrome (never its hosting)."""
    scores = [
        (sum(chrome.count(a) for a in s.aliases) + (chrome.count(s.domain) if s.domain else 0), -i)
        for i, s in enumerate(rules.sites)
    ]
    if scores and max(scores)[0] > 0:
        return rules.sites[-max(scores)[1]].label
    hosts = [_registrable(m.group(1)) for m in _DOMAIN.finditer(_EMAIL.sub(" ", chrome))]
    hosts = [
        h
        for h in hosts
        if not any(h == d or h.endswith("." + d) for d in rules.ignore_domains)
        and not re.search(r"\.(png|jpe?g|gif|html?|md|svg)$", h)
    ]
    return Counter(hosts).most_common(1)[0][0] if hosts else ""


# --------------------------------------------------------------------------- clean


def _collapse(lines: list[str]) -> str:
    """At most one blank line between paragraphs, none at the ends."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def clean(
    raw: str, *, filename: str = "", title: str | None = None, rules: Rules | None = None
) -> CleanedManual:
    """Strip site chrome from a scraped manual and rejoin its preview pages."""
    rules = rules or load_rules()
    dropped: list[str] = []
    html_title = ""
    if looks_like_html(raw, filename):
        raw, html_title, dropped = html_to_text(raw, rules)
    lines = normalize_lines(raw)
    file_title = _file_name_title(lines, rules)
    lines = _strip_prefixes(lines, rules, dropped)
    mask = _chrome_mask(lines, rules)
    dropped += [line for line, chrome in zip(lines, mask) if chrome]
    lines = [line for line, chrome in zip(lines, mask) if not chrome]

    repeated = _repeated_title(lines)
    lines = _strip_leading(lines, {t for t in (title, html_title, repeated) if t})
    text = rejoin_pages(_collapse(lines), rules)
    chosen = (
        title
        or html_title
        or file_title
        or repeated
        or _heading_title(text)
        or Path(filename).stem
        or "untitled"
    )
    return CleanedManual(
        title=chosen.strip(),
        text=text,
        source_site=detect_site("\n".join(dropped), rules),
        source_file=Path(filename).name,
    )
