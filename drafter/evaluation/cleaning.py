"""The cleaning suite: scraped pages with every content and chrome line labelled, cleaned.

`evals/cleaning-heldout/` holds the pages and ``labels.jsonl`` (one object per page:
``{"file", "site_kind", "encoding", "title", "content": [...], "chrome": [...]}``; its README says
how the label strings are formed). A content line is kept when the cleaned manual holds it
(spaces aside; the cleaner may rejoin wrapped lines). A chrome line is removed when no cleaned
line is that line and, for lines of five characters or more, no cleaned line contains it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from drafter import settings
from drafter.errors import DatasetError, DrafterError
from drafter.knowledge.ingest import clean_file

_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|>\s*)")
SHOWN = 3  # lost or kept lines listed per page


def cleaning_dir(suite: str = "cleaning-heldout") -> Path:
    """The pages of a cleaning suite: evals/cleaning-dev (``cleaning``) or
    evals/cleaning-heldout (``cleaning-heldout``)."""
    return settings.evals_dir() / ("cleaning-dev" if suite == "cleaning" else "cleaning-heldout")


def _norm(line: str) -> str:
    return _SPACE.sub(" ", _MARKER.sub("", line.strip())).strip()


def _labels(folder: Path) -> list[dict[str, Any]]:
    path = folder / "labels.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DatasetError(f"无法读取 {path}（{err.strerror or err}）。") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise DatasetError(f"{path.name}:{n}: 不是合法的 JSON（{err}）") from None
        if not isinstance(record, dict) or not isinstance(record.get("file"), str):
            raise DatasetError(f"{path.name}:{n}: 应是带 file 字段的对象")
        for key in ("content", "chrome"):
            if not all(isinstance(x, str) for x in record.get(key, [])):
                raise DatasetError(f"{path.name}:{n}: {key} 应是字符串列表")
        out.append(record)
    return out


def score_page(cleaned: str, content: list[str], chrome: list[str]) -> dict[str, Any]:
    """Content kept and chrome removed on one page (see the module docstring)."""
    lines = [_norm(x) for x in cleaned.splitlines() if x.strip()]
    joined = _SPACE.sub("", cleaned)
    lost = [c for c in content if _SPACE.sub("", _MARKER.sub("", c.strip())) not in joined]
    whole = set(lines)
    kept = [
        c
        for c in chrome
        if _norm(c) in whole or (len(_norm(c)) >= 5 and any(_norm(c) in x for x in lines))
    ]
    return {
        "content": len(content),
        "content_lost": lost,
        "chrome": len(chrome),
        "chrome_kept": kept,
    }


def run(folder: Path | None = None, progress=None) -> dict[str, Any]:
    """Every labelled page through the cleaner; per-page rows, figures and timings."""
    folder = folder or cleaning_dir()
    rows, timings = [], {}
    for record in _labels(folder):
        started = time.perf_counter()
        page = folder / record["file"]
        row: dict[str, Any] = {
            "id": record["file"],
            "tags": [record.get("site_kind", "")],
            "where": f"{folder.name}/{record['file']}",
            "text": record.get("title", ""),
        }
        try:
            cleaned = clean_file(page).text
        except DrafterError as err:
            cleaned, row["error"] = "", str(err)
        s = score_page(cleaned, list(record.get("content", [])), list(record.get("chrome", [])))
        kept_rate = 1 - len(s["content_lost"]) / s["content"] if s["content"] else 1.0
        removed = 1 - len(s["chrome_kept"]) / s["chrome"] if s["chrome"] else 1.0
        clean = not s["content_lost"] and removed >= 0.95
        failures = [f"content_lost: “{x}”" for x in s["content_lost"][:SHOWN]]
        if removed < 0.95:  # a page passes with a little chrome left (at most 5 %)
            failures += [f"chrome_kept: “{x}”" for x in s["chrome_kept"][:SHOWN]]
        if "error" in row:
            failures.insert(0, f"error: {row['error']}")
        row.update(
            status="pass" if clean else "fail",
            passed=clean,
            checks={"content_kept": not s["content_lost"], "chrome_removed": removed >= 0.95},
            failures=failures,
            content_kept=round(kept_rate, 4),
            chrome_removed=round(removed, 4),
            lost=len(s["content_lost"]),
            chrome_left=len(s["chrome_kept"]),
            counts={"content": s["content"], "chrome": s["chrome"]},
        )
        timings[row["id"]] = round((time.perf_counter() - started) * 1000, 3)
        rows.append(row)
        if progress:
            progress(
                "cleaning" if folder.name == "cleaning-dev" else "cleaning-heldout",
                row["id"],
                clean,
            )
    content = sum(r["counts"]["content"] for r in rows)
    chrome = sum(r["counts"]["chrome"] for r in rows)
    n = len(rows)
    summary = {
        "cases": n,
        "passed": sum(r["passed"] for r in rows),
        "pass_rate": round(sum(r["passed"] for r in rows) / n, 4) if n else None,
        "content_kept": round(1 - sum(r["lost"] for r in rows) / content, 4) if content else None,
        "content_lines_lost": sum(r["lost"] for r in rows),
        "chrome_removed": round(1 - sum(r["chrome_left"] for r in rows) / chrome, 4)
        if chrome
        else None,
    }
    return {"summary": summary, "per_tag": {}, "cases": rows, "timings": timings}
