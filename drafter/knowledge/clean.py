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
class Dropped:
    """A line of the page that the cleaner left out, and why (shown to the knowledge owner)."""

    line: int  # 1-based, in the page's text (for HTML: its text, one block a paragraph)
    text: str
    reason: str

    def to_dict(self) -> dict:
        return {"line": self.line, "text": self.text, "reason": self.reason}


@dataclass(frozen=True)
class CleanedManual:
    title: str
    text: str
    source_site: str
    source_file: str
    dropped: tuple[Dropped, ...] = ()
    kept_lines: int = 0


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

    chrome: tuple[tuple[re.Pattern[str], str], ...]  # (pattern, group): chrome anywhere
    edge_chrome: tuple[tuple[re.Pattern[str], str], ...]  # chrome outside the manual's body
    sentence_groups: frozenset[str]  # edge groups whose sentences are chrome (disclaimers)
    max_chrome_line_chars: int
    weak: tuple[re.Pattern[str], ...]
    weak_max_line_chars: int
    page_markers: tuple[re.Pattern[str], ...]
    counters: tuple[re.Pattern[str], ...]
    calls_to_action: tuple[re.Pattern[str], ...]
    cta_max_chars: int
    repeated_min: int
    repeated_max_chars: int
    stat_words: tuple[str, ...]
    tail_heading: re.Pattern[str]
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
    chrome: list[tuple[re.Pattern[str], str]] = []
    edge_chrome: list[tuple[re.Pattern[str], str]] = []
    sentence_groups: set[str] = set()
    for group, spec in (data.get("line_patterns") or {}).items():
        patterns, scope = (
            (spec, "anywhere")
            if isinstance(spec, list)
            else (
                spec.get("patterns") or [],
                spec.get("scope", "anywhere"),
            )
        )
        if scope not in ("anywhere", "edges"):
            raise DrafterError(
                f"清洗规则文件 {path} 中 line_patterns.{group} 的 scope 只能是 anywhere 或 edges。"
            )
        label = str(spec.get("label") or group) if isinstance(spec, dict) else group
        (chrome if scope == "anywhere" else edge_chrome).extend((rx(p), label) for p in patterns)
        if isinstance(spec, dict) and spec.get("sentences") == "chrome":
            sentence_groups.add(label)
    if site_words:  # a line naming a known scraping site is that site's chrome
        chrome.append((rx("|".join(site_words)), "sites"))
    structure = data.get("structure") or {}
    weak = data.get("weak_patterns") or {}
    title = data.get("title") or {}
    exts = "|".join(re.escape(e) for e in title.get("doc_extensions", ["doc", "pdf"]))
    badges = "|".join(re.escape(b) for b in title.get("badges", [])) or "(?!)"
    html = data.get("html") or {}
    tails = "|".join(re.escape(w) for w in structure.get("tail_headings", [])) or "(?!)"
    return Rules(
        chrome=tuple(chrome),
        edge_chrome=tuple(edge_chrome),
        sentence_groups=frozenset(sentence_groups),
        max_chrome_line_chars=int(data.get("max_chrome_line_chars", 600)),
        weak=tuple(rx(p) for p in weak.get("patterns", [])),
        weak_max_line_chars=int(weak.get("max_line_chars", 200)),
        page_markers=tuple(rx(p) for p in structure.get("page_markers", [])),
        counters=tuple(rx(p) for p in structure.get("counters", [])),
        calls_to_action=tuple(rx(p) for p in structure.get("calls_to_action", [])),
        cta_max_chars=int(structure.get("calls_to_action_max_chars", 40)),
        repeated_min=int(structure.get("repeated_min", 3)),
        repeated_max_chars=int(structure.get("repeated_max_chars", 30)),
        stat_words=tuple(structure.get("stat_words", [])),
        tail_heading=rx(
            rf"^(?:[\d,.万]+\s*(?:条|个)?\s*)?(?:{tails})\s*(?:[(（]?\s*[\d,.万]+\s*[)）]?)?"
            rf"\s*(?:条|个)?\s*[:：]?$"
        ),
        nav_line=rx(rf"^(?:(?:{words('nav_words') or '(?!)'})\s*[|/·┊]?\s*)+[:：]?$"),
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


_HAN = re.compile(r"[\u4e00-\u9fff]")
# A date with a time of day (2023-09-07 20:41, 4月2日 16:05, 2016-4-13 09:21), or a date alone.
_STAMP = re.compile(
    r"(?:\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?|\d{1,2}月\d{1,2}日|\d{1,2}-\d{1,2})"
    r"\s*(?:\d{1,2}:\d{2}(?::\d{2})?)"
    r"|^[(（]?\s*(?:发布于|发表于|更新于|推荐于)?\s*\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\s*[)）]?$"
)
_NUMBER = re.compile(r"\d[\d,.]*\s*[万wWkK]?")
_BREADCRUMB = re.compile(r"\s*(?:>|»|›|＞|/)\s*")
_TABLE_ROW = re.compile(r"^\|.*\|$")

# A line with a site's words that a manual also writes, outside the body (an `edges` group).
EDGE_PREFIX = "正文之外的网站用语（"
# Why a line was left out, as the knowledge owner reads it in the cleaning report.
WHY = {
    "nav": "导航栏",
    "file_name": "文件名",
    "page_marker": "页码或页眉页脚",
    "counter": "阅读数、点赞数一类的计数",
    "call_to_action": "引导下载、关注、展开全文的提示",
    "repeated": "在页面上重复出现（页眉、页脚或水印）",
    "related": "相关文章列表",
    "section": "网站提示的标题",
    "tail": "评论区或推荐列表",
    "head": "正文之前的网站内容",
    "after": "正文之外的网站内容",
    "weak": "联系方式、下载一类的网站信息",
    "sandwiched": "夹在网站条目之间的编号条目",
    "byline": "署名和时间（作者、评论或编辑记录）",
    "links": "只有链接的行（目录或链接列表）",
    "symbols": "只有符号的行",
    "comment": "署名之后的留言（评论）",
}


_MD_MARKERS = re.compile(r"^(?:#{1,6}\s+|>\s*|[-*+]\s+)+")
_MD_LINKS = re.compile(r"^(?:[-*+]\s+)?(?:\[[^\]]+\]\([^)]*\)\s*)+$")
_NO_WORDS = re.compile(r"^[^\w\u4e00-\u9fff]+$")


def _bare(line: str) -> str:
    """The line as it reads, without Markdown's block markers and bold marks."""
    return _MD_MARKERS.sub("", line).replace("**", "").strip()


def _is_byline(line: str) -> bool:
    """A name or a label with a date and time: who wrote or edited what, when (the author
    card, every comment, 最后修改), never a sentence."""
    return len(line) <= 50 and not re.search("[。！？；]", line) and bool(_STAMP.search(line))


def _is_counter(line: str, rules: Rules) -> bool:
    """A line of counts (阅读(1236)┊评论 (3)┊收藏(0), 总资产28 共写了9.1W字 获得512个赞)."""
    if any(p.match(line) for p in rules.counters):
        return True
    if len(line) > 80 or _SENTENCE_PUNCT.search(line.replace("，", "")):
        return False
    numbers = len(_NUMBER.findall(line))
    stats = sum(1 for w in rules.stat_words if w in line)
    return numbers >= 2 and stats >= 2


def _is_breadcrumb(line: str) -> bool:
    """首页 > 知识库 > 售后: short parts joined by >, », / (never a sentence)."""
    parts = [p for p in _BREADCRUMB.split(line) if p]
    return (
        len(parts) >= 3
        and len(_BREADCRUMB.findall(line)) >= 2
        and all(len(p) <= 12 for p in parts)
        and not _SENTENCE_PUNCT.search(line)
    )


def _hard_reason(line: str, rules: Rules) -> str | None:
    """Why ``line`` is chrome wherever it stands on the page (None: it is not, by itself)."""
    if not line:
        return None
    if _MD_LINKS.match(line):
        return WHY["links"]
    line = _bare(line)
    if not line or _NO_WORDS.match(line):
        return WHY["symbols"]
    if rules.nav_line.match(line) or _is_breadcrumb(line):
        return WHY["nav"]
    if _is_byline(line):
        return WHY["byline"]
    if rules.file_name_line.match(line):
        return WHY["file_name"]
    if any(p.match(line) for p in rules.page_markers):
        return WHY["page_marker"]
    if _is_counter(line, rules):
        return WHY["counter"]
    if len(line) > rules.max_chrome_line_chars:  # a whole page of the manual on one line
        return None
    for pattern, label in rules.chrome:
        if pattern.search(line):
            return f"网站内容（{label}）"
    short = len(line) <= rules.cta_max_chars and not line.endswith("。")
    if short and any(p.search(line) for p in rules.calls_to_action):
        return WHY["call_to_action"]
    return None


def _edge_reason(line: str, rules: Rules) -> str | None:
    """Why ``line`` is chrome when it stands outside the manual's body (words that a manual
    also uses: 在线客服, 开具发票, 本站, a phone and 微信 on one line)."""
    line = _bare(line)
    if len(line) > rules.max_chrome_line_chars:
        return None
    for pattern, label in rules.edge_chrome:
        if pattern.search(line):
            return f"{EDGE_PREFIX}{label}）"
    if len(line) <= rules.weak_max_line_chars:
        hits = sum(1 for p in rules.weak if p.search(line))
        if hits >= 3 or (hits >= 2 and not _SENTENCE_PUNCT.search(line)):
            return WHY["weak"]
    return None


def _prose(line: str) -> float:
    """How much ``line`` reads as the manual's text: sentences score, labels do not."""
    han = len(_HAN.findall(line))
    if han >= 8 and (_SENTENCE_PUNCT.search(line) or line.endswith(_SENTENCE_END)):
        return 1.0 + min(1.0, han / 60)
    if _TABLE_ROW.match(line) and han >= 2:
        return 0.5
    if _BULLET.match(line) or _SECTION_START.match(line):
        return 0.4 if han >= 2 else 0.0
    return -0.3


_SECTION_START = re.compile(
    r"^(?:第[一二三四五六七八九十百零〇\d]+[章节条部分篇步]|[一二三四五六七八九十]+[、.．]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩]|步骤[一二三四五六七八九十\d]+)"
)


def _line_scores(
    lines: list[str],
    reasons: list[str | None],
    rules: Rules,
    strict: bool = False,
    rows: frozenset[str] = frozenset(),
) -> list[float]:
    said = _after_bylines(lines, reasons)
    """How much each line counts for (> 0) or against (< 0) being in the manual's body;
    ``strict``: a sentence of a group whose sentences are chrome too (a site's disclaimers:
    本站…, 如有侵权…) counts against it."""
    scores = []
    for i, line in enumerate(lines):
        if not line:
            scores.append(0.0)
            continue
        prose = max(_prose(_bare(line)), 0.5) if line in rows else _prose(_bare(line))
        if reasons[i] == WHY["byline"]:
            score = -2.5  # comments: a byline before every few lines of text
        elif said[i]:
            score = -0.5  # a comment's text
        elif reasons[i] is not None:
            score = -1.0
        elif edge := _edge_reason(line, rules):
            disclaimer = any(edge == f"{EDGE_PREFIX}{g}）" for g in rules.sentence_groups)
            score = prose - 0.5 if prose > 1 and not (strict and disclaimer) else -0.8
        else:
            score = prose
        scores.append(score)
    return scores


def _best_run(scores: list[float], lo: int, hi: int) -> tuple[float, int, int]:
    """The run of lines in [lo, hi) with the highest total score (Kadane), as (total, start, end)."""
    best, span = 0.0, (lo, lo)
    total, start = 0.0, lo
    for i in range(lo, hi):
        if total <= 0:
            total, start = 0.0, i
        total += scores[i]
        if total > best:
            best, span = total, (start, i + 1)
    return best, span[0], span[1]


SECOND_BODY_MIN = 3.0  # a second run of text (after an ad or a comment thread) counts from here


def _body_spans(scores: list[float], strict: list[float], end: int) -> list[tuple[int, int]]:
    """The manual's body in the first ``end`` lines: the run that reads most like its text
    (``scores``), and any other run of several sentences that chrome in the middle (an ad, a
    comment thread, 追问) cut off; those get no benefit of the doubt for a site's disclaimers,
    which are sentences too (``strict``)."""
    best, a, b = _best_run(scores, 0, end)
    if best <= 0:
        return []
    spans = [(a, b)]
    pending = [(0, a), (b, end)]
    while pending:
        lo, hi = pending.pop()
        total, x, y = _best_run(strict, lo, hi)
        if total >= SECOND_BODY_MIN and y > x:
            spans.append((x, y))
            pending += [(lo, x), (y, hi)]
    return sorted(spans)


def _heading_like(line: str) -> bool:
    return (
        4 <= len(_HAN.findall(line))
        and len(line) <= 40
        and not line.endswith(("：", ":"))
        and not _SENTENCE_PUNCT.search(line)
        and not re.search(r"[|｜·•/>»]", line)  # a row of links, a breadcrumb
    )


def _with_headings(lines: list[str], reasons: list[str | None], rules: Rules, start: int) -> int:
    """The body's start moved up over the title and a subtitle right above it (across the
    byline, counts or watermark that a site puts between a title and its text)."""
    taken = skipped = 0
    i = start - 1
    while i >= 0 and taken < 2 and skipped <= 6:
        line = lines[i]
        if not line:
            i -= 1
            continue
        if reasons[i] is not None or rules.section_heading.match(_bare(line)):
            skipped += 1
            i -= 1
            continue
        # a heading may name what a site's chrome also names (在线客服退款申请操作要点)
        if not _heading_like(_bare(line)) or _edge_reason(line, rules) == WHY["weak"]:
            break
        start, taken = i, taken + 1
        i -= 1
    return start


TAIL_RESUME = 6.0  # this much text after a 评论 heading (or less, numbered): the manual goes on


def _tail_start(lines: list[str], rules: Rules, scores: list[float], body_start: int) -> int:
    """Where the comments or the recommendations begin: a heading such as 全部评论 (12) after
    the manual has begun, with no long run of text after it (a comment thread in the middle
    of a shared document is not the end); len(lines) when the page has none."""
    for i in range(body_start + 1, len(lines)):
        if lines[i] and rules.tail_heading.match(_bare(lines[i])):
            total, a, b = _best_run(scores, i + 1, len(lines))
            numbered = any(
                _BULLET.match(_bare(x)) or _SECTION_START.match(_bare(x)) for x in lines[a:b]
            )
            if total < TAIL_RESUME and not (total >= SECOND_BODY_MIN and numbered):
                return i
    return len(lines)


def _after_bylines(lines: list[str], reasons: list[str | None], reach: int = 3) -> list[bool]:
    """Comments: the few lines of text between a byline (a name with a date and time) and
    the next chrome line (回复, 赞 3, the next byline) or the page's end. An article's own
    byline is followed by the article, which runs on longer than ``reach`` lines."""
    out = [False] * len(lines)
    i = 0
    while i < len(lines):
        if reasons[i] != WHY["byline"]:
            i += 1
            continue
        block: list[int] = []
        j = i + 1
        while j < len(lines) and len(block) <= reach:
            if lines[j] and reasons[j] is not None:
                break
            if lines[j]:
                block.append(j)
            j += 1
        if block and len(block) <= reach and (j >= len(lines) or reasons[j] is not None):
            for k in block:
                out[k] = True
        i = j if j > i else i + 1
    return out


def _unit(line: str) -> str:
    """The part a line repeats (张三 8842 张三 8842 -> 张三 8842), else the line."""
    words = line.split()
    for size in range(1, len(words) // 2 + 1):
        if len(words) % size == 0 and words == words[:size] * (len(words) // size):
            return " ".join(words[:size])
    return line


def _repeated(lines: list[str], rules: Rules) -> set[str]:
    """Short lines seen repeated_min times or more (running headers, footers, watermarks)."""
    counts: Counter[str] = Counter()
    for line in lines:
        if line and len(_unit(line)) <= rules.repeated_max_chars:
            unit = _unit(line)
            counts[unit] += max(1, len(line.split()) // max(1, len(unit.split())))
    return {line for line in lines if line and counts.get(_unit(line), 0) >= rules.repeated_min}


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


def _mask_sandwiched_items(lines: list[str], mask: list[str | None]) -> None:
    """A numbered item between two chrome items is chrome too (disclaimer item 5 of 1–8)."""
    changed = True
    while changed:
        changed = False
        for i in range(1, len(lines) - 1):
            if (
                mask[i] is None
                and _BULLET.match(lines[i])
                and all(mask[k] is not None and _BULLET.match(lines[k]) for k in (i - 1, i + 1))
            ):
                mask[i] = WHY["sandwiched"]
                changed = True


def _chrome_mask(
    lines: list[str],
    rules: Rules,
    keep: frozenset[str] = frozenset(),
    rows: frozenset[str] = frozenset(),
) -> list[str | None]:
    """For each line, why it is chrome (None: it is the manual's). Lines in ``keep`` (restored
    by the knowledge owner) are never chrome."""
    mask: list[str | None] = [_hard_reason(line, rules) for line in lines]
    repeated = _repeated(lines, rules)
    for i, line in enumerate(lines):
        if mask[i] is None and line in repeated:
            mask[i] = WHY["repeated"]
    _mask_sandwiched_items(lines, mask)
    for i, line in enumerate(lines):
        if line and rules.related_heading.match(line):
            for k in range(i, _related_list_end(lines, i + 1, rules)):
                mask[k] = mask[k] or WHY["related"]
    # The body: what lies outside it is the site's unless it reads as the manual.
    scores = _line_scores(lines, mask, rules, rows=rows)
    strict = _line_scores(lines, mask, rules, strict=True, rows=rows)
    first = _best_run(scores, 0, len(lines))
    tail = _tail_start(lines, rules, scores, first[1] if first[0] > 0 else 0)
    spans = [
        (_with_headings(lines, mask, rules, a), b) for a, b in _body_spans(scores, strict, tail)
    ]
    inside = [False] * len(lines)
    for a, b in spans:
        for k in range(a, b):
            inside[k] = True
    start = spans[0][0] if spans else len(lines)
    said = _after_bylines(lines, mask)
    for i, line in enumerate(lines):
        if not line or mask[i] is not None:
            continue
        if i >= tail:
            mask[i] = WHY["tail"]
        elif not inside[i] and said[i]:
            mask[i] = WHY["comment"]
        elif not inside[i]:
            edge = _edge_reason(line, rules)
            if edge or _prose(_bare(line)) <= 0:
                mask[i] = edge or (WHY["head"] if i < start else WHY["after"])
        elif (
            (edge := _edge_reason(line, rules))
            and edge != WHY["weak"]
            and not _SENTENCE_PUNCT.search(line)
            and not (_BULLET.match(_bare(line)) or _SECTION_START.match(_bare(line)))
            and line not in rows
        ):
            mask[i] = edge  # a site's label inside the body (在线客服 | 帮助中心); a line of
            # contacts inside it is the manual's (对外公布的联系方式：客服电话 400-…)
    _mask_sandwiched_items(lines, mask)
    # backwards, so a chain of chrome headings (温馨提示 then 特别说明 …) is seen whole
    for i in range(len(lines) - 1, -1, -1):
        if lines[i] and rules.section_heading.match(_bare(lines[i])):
            nxt = _next_text(lines, i + 1)
            mask[i] = (mask[i] or WHY["section"]) if nxt is None or mask[nxt] is not None else None
    for i, line in enumerate(lines):
        if line in keep:
            mask[i] = None
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


SOFT = frozenset({WHY["head"], WHY["after"]})


def _is_edge_word(reason: str | None) -> bool:
    """A reason given for a site's word that a manual also writes (an `edges` group)."""
    return reason is not None and reason.startswith(EDGE_PREFIX)


def _markdown_title(lines: list[str]) -> str:
    """A Markdown page's first level-one heading (# 标题), as the page reads it."""
    for line in lines:
        if line.startswith("# "):
            return _bare(line)
    return ""


def _restore_title(lines: list[str], mask: list[str | None], titles: list[str]) -> None:
    """The page's own title (its <title> or <h1>, a Markdown # heading, the one given) is the
    manual's heading even where a site put its toolbar or metadata between it and the text."""
    for title in (t.strip() for t in titles):
        if not title:
            continue
        for i, line in enumerate(lines):
            if _bare(line) == title and (mask[i] in SOFT or _is_edge_word(mask[i])):
                mask[i] = None
                break


def _strip_leading(lines: list[str], titles: set[str]) -> list[str]:
    """The title stays the manual's heading, once: copies of it above it are dropped
    (危机事件培训教材 twice at the top of a page)."""
    i, last = 0, None
    while i < len(lines) and (not lines[i] or lines[i] in titles):
        if lines[i]:
            last = i
        i += 1
    return lines[last:] if last is not None else lines


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
    raw: str,
    *,
    filename: str = "",
    title: str | None = None,
    rules: Rules | None = None,
    keep: frozenset[str] | set[str] = frozenset(),
) -> CleanedManual:
    """Strip site chrome from a scraped manual and rejoin its preview pages; every line left
    out is reported with its reason. Lines in ``keep`` (as the report shows them) stay."""
    rules = rules or load_rules()
    keep = frozenset(keep)
    evidence: list[str] = []  # what names the scraping site: links, dropped text
    dropped: list[Dropped] = []
    html_title = ""
    rows: set[str] = set()
    if looks_like_html(raw, filename):
        raw, html_title, blocks, hrefs, rows = html_to_text(raw, rules, keep)
        evidence += hrefs
        dropped += [Dropped(0, text, reason) for text, reason in blocks]
    lines = normalize_lines(raw)
    file_title = _file_name_title(lines, rules)
    prefixes: list[str] = []
    lines = _strip_prefixes(lines, rules, prefixes)
    dropped += [Dropped(0, text, "行首的电头或署名") for text in prefixes]
    mask = _chrome_mask(lines, rules, keep, frozenset(rows))
    _restore_title(lines, mask, [title or "", html_title, _markdown_title(lines)])
    dropped += [Dropped(i + 1, line, why) for i, (line, why) in enumerate(zip(lines, mask)) if why]
    evidence += [d.text for d in dropped]
    all_lines = lines
    lines = [line for line, why in zip(lines, mask) if not why]

    repeated = _repeated_title(
        [line for line, why in zip(all_lines, mask) if not why or why == WHY["head"]]
    )
    titles = {t for t in (title, html_title, repeated) if t}
    body = _strip_leading(lines, titles)
    dropped += [Dropped(0, line, "重复的标题") for line in lines[: len(lines) - len(body)] if line]
    text = rejoin_pages(_collapse(body), rules)
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
        source_site=detect_site("\n".join(evidence), rules),
        source_file=Path(filename).name,
        dropped=tuple(dropped),
        kept_lines=sum(1 for line in text.split("\n") if line.strip()),
    )
