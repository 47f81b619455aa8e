"""Validate the cleaning-dev labels against the pages (standard library only).

For every object in labels.jsonl it
  * decodes the page with the declared encoding (and, for HTML, checks the
    <meta charset> agrees),
  * extracts the visible lines according to the rules in README.md,
  * checks that every label string occurs verbatim among the extracted lines,
  * checks that no string is listed twice or in both lists,
  * reports every extracted line that is in neither list.

Usage:  python3 validate.py [--dump FILE]   (--dump prints the extracted lines)
Exit status 0 when every page validates, 1 otherwise.
"""

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent

SKIP_TAGS = {"script", "style", "head", "title", "noscript", "template", "svg", "iframe"}
BLOCK_TAGS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
}
CELL_TAGS = {"td", "th"}
WS = re.compile(r"\s+")  # str \s: includes U+00A0 (&nbsp;) and U+3000


class _Extractor(HTMLParser):
    """Collect visible text; one line per block, one line per table row."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.ctx = []  # stack of "table" / "cell"
        self.buf = []  # pieces of the current line
        self.lines = []

    # -- helpers -------------------------------------------------------
    def _newline(self):
        text = WS.sub(" ", "".join(self.buf)).strip()
        if text:
            self.lines.append(text)
        self.buf = []

    def _in_cell(self):
        return bool(self.ctx) and self.ctx[-1] == "cell"

    def _pop_to(self, kind):
        if kind in self.ctx:
            while self.ctx:
                if self.ctx.pop() == kind:
                    break

    def _block(self, tag):
        if tag == "tr":
            self._newline()
        elif self._in_cell():
            self.buf.append(" ")  # blocks inside a cell do not break the row
        else:
            self._newline()

    # -- parser callbacks ----------------------------------------------
    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "table":
            self._block(tag)
            self.ctx.append("table")
        elif tag in CELL_TAGS:
            self.buf.append(" ")
            self.ctx.append("cell")
        elif tag in BLOCK_TAGS:
            self._block(tag)

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS:
            if self.skip:
                self.skip -= 1
            return
        if self.skip:
            return
        if tag == "table":
            self._pop_to("table")
            self._block(tag)
        elif tag in CELL_TAGS:
            self._pop_to("cell")
            self.buf.append(" ")
        elif tag in BLOCK_TAGS:
            self._block(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

    def close(self):
        super().close()
        self._newline()


def extract_html(text):
    p = _Extractor()
    p.feed(text)
    p.close()
    return p.lines


def extract_txt(text):
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


MD_SEP = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
MD_MARKER = re.compile(r"^(#{1,6}\s+|[-*+]\s+|>\s?)")


def extract_md(text):
    out = []
    for ln in text.splitlines():
        s = ln.strip()
        if not s or MD_SEP.match(s):
            continue
        while True:
            m = MD_MARKER.match(s)
            if not m:
                break
            s = s[m.end() :].lstrip()
        if s:
            out.append(s)
    return out


def extract(path, encoding):
    raw = path.read_bytes()
    text = raw.decode(encoding)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return extract_html(text), text
    if suffix == ".md":
        return extract_md(text), text
    return extract_txt(text), text


META_CHARSET = re.compile(r"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)


def check_page(obj):
    errors, warnings = [], []
    path = HERE / obj["file"]
    enc = obj.get("encoding", "utf-8")
    try:
        lines, text = extract(path, enc)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read/decode with {enc}: {exc}"], [], {}
    if path.suffix.lower() in (".html", ".htm"):
        m = META_CHARSET.search(text)
        if not m:
            errors.append("no <meta charset> declared")
        elif m.group(1).lower().replace("-", "") != enc.lower().replace("-", ""):
            errors.append(f"meta charset {m.group(1)!r} != label encoding {enc!r}")
    if enc.lower().replace("-", "") != "utf8":
        try:
            path.read_bytes().decode("utf-8")
            warnings.append(f"declared {enc} but bytes also decode as UTF-8")
        except UnicodeDecodeError:
            pass
    have = set(lines)
    content, chrome = obj.get("content", []), obj.get("chrome", [])
    for name, lst in (("content", content), ("chrome", chrome)):
        seen = set()
        for s in lst:
            if s in seen:
                errors.append(f"{name}: listed twice: {s!r}")
            seen.add(s)
            if s not in have:
                errors.append(f"{name}: not among extracted lines: {s!r}")
    for s in sorted(set(content) & set(chrome)):
        errors.append(f"in both lists: {s!r}")
    labelled = set(content) | set(chrome)
    for s in dict.fromkeys(lines):
        if s not in labelled:
            errors.append(f"unlabelled line: {s!r}")
    stats = {
        "extracted_lines": len(lines),
        "distinct": len(have),
        "content": len(set(content)),
        "chrome": len(set(chrome)),
    }
    return errors, warnings, stats


def main(argv):
    if len(argv) >= 3 and argv[1] == "--dump":
        path = HERE / argv[2]
        enc = "gbk" if "sina" in path.name else "utf-8"
        if len(argv) >= 4:
            enc = argv[3]
        lines, _ = extract(path, enc)
        for i, ln in enumerate(dict.fromkeys(lines)):
            print(f"{i:3d}\t{ln}")
        return 0
    ok = True
    with open(HERE / "labels.jsonl", encoding="utf-8") as fh:
        objs = [json.loads(l) for l in fh if l.strip()]
    for obj in objs:
        errors, warnings, stats = check_page(obj)
        status = "OK " if not errors else "ERR"
        print(
            f"[{status}] {obj['file']:<28} content={stats.get('content')} "
            f"chrome={stats.get('chrome')} distinct_lines={stats.get('distinct')}"
        )
        for w in warnings:
            print("      warn:", w)
        for e in errors:
            print("      ", e)
        ok = ok and not errors
    print("ALL PAGES VALID" if ok else "VALIDATION FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
