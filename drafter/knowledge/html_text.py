"""A scraped HTML page to its article text, one paragraph per block element.

Blocks that are mostly link text (navigation tables, link lists, related headlines) and the
items under a related-news heading are set aside as chrome, so the cleaner can still read the
scraping site's name and links from them. Kept text is whitespace-collapsed but otherwise
verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotation only: clean imports this module at run time
    from drafter.knowledge.clean import Rules

_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TABLE_TAGS = frozenset({"table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th"})
_FLOW_TAGS = frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "hr"})
_PAGE_TAGS = frozenset({"html", "body", "main", "article", "section", "center"})
# text never runs across these: each starts a new block
_BLOCK_TAGS = _HEADING_TAGS | _TABLE_TAGS | _FLOW_TAGS | _PAGE_TAGS
# Skipped elements whose text a reader sees (navigation, header, footer, a form): reported as
# set aside, so a knowledge owner can keep a line; script, style and the like are not text.
_READABLE_SKIPPED = frozenset(
    {"nav", "header", "footer", "aside", "form", "button", "select", "figure", "figcaption"}
)
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "col", "embed", "wbr"})
# `<ahref="…">` (no space) would otherwise parse as an unknown tag and lose its link-ness.
_GLUED_ATTR = re.compile(r"<a(?=(?:href|name|id|class|target|title|rel)\s*=)", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:html|body|head|p|div|table|tr|td|a|span|li|ul|br|h[1-6]|strong)\b[^>]*>", re.IGNORECASE
)


@dataclass
class _Block:
    tag: str
    text: str
    link_chars: int
    aside: bool = False  # text of a skipped element a reader sees (nav, header, footer …)
    row: int = -1  # the table row (innermost <tr>) it belongs to, -1 outside tables
    cell: int = -1  # its cell in that row
    cells: int = 0  # a merged table row: how many cells it has

    @property
    def link_density(self) -> float:
        chars = len(self.text.replace(" ", ""))
        return self.link_chars / chars if chars else 1.0


class _BlockParser(HTMLParser):
    """Splits a page into text blocks (one per block element) and counts link text in each."""

    def __init__(self, skip_tags: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_tags = skip_tags
        self.blocks: list[_Block] = []
        self.hrefs: list[str] = []
        self.title = ""
        self._skip: list[str] = []  # open elements whose text is never article text
        self._blocks: list[str] = []  # open block elements
        self._links = 0  # open <a href> elements (anchors without href are not links)
        self._anchors: list[bool] = []  # for each open <a>: whether it has an href
        self._in_title = False
        self._parts: list[str] = []
        self._aside: list[str] = []
        self._link_chars = 0
        self._rows: list[int] = []  # open <tr> elements, by number
        self._row_count = 0
        self._cells: list[int] = []  # for each open <tr>: cells started so far

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.hrefs.append(value.strip())
        if tag == "title":
            self._in_title = True
        elif tag == "body":  # </head> may be omitted: the body is never inside it
            self._skip = [t for t in self._skip if t != "head"]
            self._flush()
        elif tag in self.skip_tags and tag not in _VOID_TAGS:
            self._skip.append(tag)
        elif self._skip and (tag == "br" or tag in _BLOCK_TAGS):
            self._aside.append("\n")
        elif tag == "a":
            linked = any(name == "href" and value for name, value in attrs)
            self._anchors.append(linked)
            self._links += linked
        elif tag == "br":
            self._parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag not in _VOID_TAGS:
                self._blocks.append(tag)
            if tag == "tr":
                self._row_count += 1
                self._rows.append(self._row_count)
                self._cells.append(-1)
            elif tag in ("td", "th") and self._cells:
                self._cells[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._skip:
            outer = self._skip[0]
            while self._skip and self._skip.pop() != tag:
                pass
            if not self._skip:
                self._set_aside(outer)
        elif tag == "a":
            if self._anchors and self._anchors.pop():
                self._links = max(0, self._links - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag in self._blocks:
                while self._blocks.pop() != tag:
                    pass
            if tag == "tr" and self._rows:
                self._rows.pop()
                self._cells.pop()

    def _set_aside(self, tag: str) -> None:
        text = "".join(self._aside)
        self._aside = []
        if tag in _READABLE_SKIPPED:
            for line in text.split("\n"):
                line = re.sub(r"\s+", " ", line).strip()
                if line:
                    self.blocks.append(_Block(tag, line, 0, aside=True))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._skip:
            self._aside.append(data)
        elif not self._skip:
            self._parts.append(data)
            if self._links:
                self._link_chars += len(re.sub(r"\s", "", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = "\n".join(
            re.sub(r"\s+", " ", part).strip() for part in "".join(self._parts).split("\n")
        )
        text = text.strip()
        if text:
            self.blocks.append(
                _Block(
                    self._blocks[-1] if self._blocks else "",
                    text,
                    self._link_chars,
                    row=self._rows[-1] if self._rows else -1,
                    cell=self._cells[-1] if self._cells else -1,
                )
            )
        self._parts, self._link_chars = [], 0


ROW_MAX_CHARS = 300  # a data row; longer, the row is a layout table's (a page in a cell)


def _merge_rows(blocks: list[_Block]) -> list[_Block]:
    """A table row of data (a block in each cell, short) is one line, its cells joined by a
    space (Word puts a <p> in every cell); a layout table's row, whose cell holds a page of
    paragraphs, is left as its blocks."""
    out: list[_Block] = []
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and blocks[j].row == blocks[i].row and not blocks[j].aside:
            j += 1
        group = blocks[i:j] if blocks[i].row >= 0 else []
        text = " ".join(b.text for b in group)
        one_each = len({b.cell for b in group}) == len(group)  # a block per cell: data
        if len(group) >= 2 and one_each and len(text) <= ROW_MAX_CHARS and "\n" not in text:
            links = sum(b.link_chars for b in group)
            out.append(_Block("tr", text, links, row=blocks[i].row, cells=len(group)))
            i = j
        else:
            out.append(blocks[i])
            i += 1
    return out


def looks_like_html(raw: str, filename: str = "") -> bool:
    if Path(filename).suffix.lower() in (".html", ".htm"):
        return True
    head = raw.lstrip()[:200].lower()
    return (head.startswith("<") or "<html" in head) and len(_HTML_TAG.findall(raw)) >= 5


def _page_title(head_title: str, headings: list[str]) -> str:
    """<title>, else the first <h1>, else <h2>; a heading inside <title> is the cleaner form."""
    for heading in headings:
        if not head_title or heading in head_title:
            return heading
    # `文章标题 | 网站名`: the part after the separator names the site, not the article
    return re.split(r"\s+[|｜–—-]\s+|｜", head_title)[0].strip()


def html_to_text(
    raw: str, rules: Rules, keep: frozenset[str] = frozenset()
) -> tuple[str, str, list[tuple[str, str]], list[str], set[str]]:
    """(article text with blocks as paragraphs, the page title, the blocks set aside with
    the reason, the page's links, the data-table rows kept (the cleaner reads them as the
    manual's, like sentences)); blocks in ``keep`` are never set aside."""
    parser = _BlockParser(skip_tags=rules.html_skip_tags)
    parser.feed(_GLUED_ATTR.sub("<a ", raw))
    parser.close()
    parser.blocks = _merge_rows(parser.blocks)
    headings = [
        b.text
        for tag in ("h1", "h2")
        for b in parser.blocks
        if b.tag == tag and b.link_density <= rules.html_max_link_density
    ]
    title = _page_title(re.sub(r"\s+", " ", parser.title).strip(), headings)
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    in_related = False
    for block in parser.blocks:
        # a related-news heading owns the <li> items after it, linked or not
        in_related = bool(rules.related_heading.match(block.text)) or (
            in_related and block.tag == "li"
        )
        if block.text in keep:
            kept.append(block.text)
        elif block.aside:
            dropped.append((block.text, f"网页的 <{block.tag}> 部分（导航、页眉页脚、表单）"))
        elif in_related:
            dropped.append((block.text, "相关文章列表"))
        elif block.link_density > rules.html_max_link_density:
            # navigation tables, link lists and related headlines are mostly link text
            dropped.append((block.text, "链接为主的块（导航或链接列表）"))
        else:
            kept.append(block.text)
    rows = {b.text for b in parser.blocks if b.cells >= 2 and b.text in kept}
    return "\n\n".join(kept), title, dropped, list(parser.hrefs), rows
