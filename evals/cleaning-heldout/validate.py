#!/usr/bin/env python3
"""Validate labels.jsonl against the pages in this folder.

For .html pages the visible text is obtained with the standard library's
html.parser (script/style/head/noscript/template/svg/iframe skipped, entities
resolved, whitespace collapsed, a line break at every block-level element and a
space between table cells).  For .txt/.md pages the visible text is the decoded
file itself.  Every content/chrome string must occur verbatim in the visible
text; no string may be both content and chrome.
"""

import json
import os
import re
import sys
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = set(
    ["p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "tr", "table", "thead", "tbody", "tfoot", "section", "article", "header", "footer", "nav", "aside", "main", "blockquote", "pre", "dl", "dt", "dd", "form", "figure", "figcaption", "br", "hr", "caption", "address", "fieldset", "legend", "details", "summary", "body", "html", "center", "option", "select", "textarea"]
)
CELL = {"td", "th"}
SKIP = {"script", "style", "head", "noscript", "template", "svg", "iframe"}


class Vis(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0

    def handle_starttag(self, t, a):
        if t in SKIP:
            self.skip += 1
        elif t in BLOCK:
            self.out.append("\n")
        elif t in CELL:
            self.out.append(" ")

    def handle_startendtag(self, t, a):
        if t in BLOCK:
            self.out.append("\n")

    def handle_endtag(self, t):
        if t in SKIP:
            self.skip = max(0, self.skip - 1)
        elif t in BLOCK:
            self.out.append("\n")
        elif t in CELL:
            self.out.append(" ")

    def handle_data(self, d):
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", d))


def visible(path, enc):
    raw = open(path, "rb").read().decode(enc)
    if path.endswith(".html"):
        v = Vis()
        v.feed(raw)
        v.close()
        lines = [re.sub(r"\s+", " ", l).strip() for l in "".join(v.out).split("\n")]
        return "\n".join(l for l in lines if l)
    return raw


def main():
    errors = warnings = 0
    tc = tch = 0
    recs = [json.loads(l) for l in open(os.path.join(HERE, "labels.jsonl"), encoding="utf-8")]
    for r in recs:
        for k in ("file", "site_kind", "encoding", "title", "content", "chrome"):
            assert k in r, (r.get("file"), k)
        path = os.path.join(HERE, r["file"])
        text = visible(path, r["encoding"])
        flat = re.sub(r"\s+", " ", text)  # whitespace-collapsed visible text
        if r["encoding"].lower() != "utf-8":
            try:
                open(path, "rb").read().decode("utf-8")
                print(f"WARN {r['file']}: declared {r['encoding']} but also decodes as UTF-8")
                warnings += 1
            except UnicodeDecodeError:
                pass
        C, X = r["content"], r["chrome"]
        for s in C + X:
            if s not in text or s not in flat:
                print(f"ERROR {r['file']}: not verbatim in visible text: {s!r}")
                errors += 1
        both = set(C) & set(X)
        for s in both:
            print(f"ERROR {r['file']}: in both lists: {s!r}")
            errors += 1
        if r["title"] not in C:
            print(f"ERROR {r['file']}: title not among content lines")
            errors += 1
        if not 30 <= len(C) <= 120:
            print(f"ERROR {r['file']}: {len(C)} content lines")
            errors += 1
        # a chrome string contained in a content line would make "drop all chrome" impossible under substring scoring
        for x in X:
            for c in C:
                if x in c and len(x) >= 5:
                    print(f"ERROR {r['file']}: chrome {x!r} is inside content {c!r}")
                    errors += 1
        tc += len(C)
        tch += len(X)
        print(f"ok   {r['file']:26s} {r['encoding']:8s} content={len(C):3d} chrome={len(X):3d}")
    print(
        f"pages={len(recs)} content_lines={tc} chrome_lines={tch} errors={errors} warnings={warnings}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
