"""Ingest: scraped manual files -> cleaned knowledge/manuals/<slug>.md with front matter.

Each output is the cleaned text under a small YAML front matter (title, source_file,
source_site). Output is deterministic, so re-ingesting the same file gives identical bytes
and the committed manuals can be checked against a fresh ingest of the seeds.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from drafter.errors import InputError
from drafter.knowledge.clean import CleanedManual, Dropped, clean
from drafter.knowledge.corpus import split_front_matter
from drafter.state import current
from drafter.text import decode as textio

SUFFIXES = (".txt", ".md", ".html", ".htm")
# Fewer characters than this (spaces aside) after cleaning is a stub or chrome only, not a manual.
MIN_MANUAL_CHARS = 50


@dataclass(frozen=True)
class IngestReport:
    source: Path
    output: Path
    slug: str
    title: str
    source_site: str
    bytes_in: int
    chars_out: int
    kept_lines: int = 0
    dropped: tuple[Dropped, ...] = ()
    written: bool = True
    kept_text: str = ""  # the cleaned manual's text

    @property
    def path(self) -> Path:
        """The written manual (what `drafter index` reports as added)."""
        return self.output

    def to_dict(self) -> dict:
        d = asdict(self)
        d["source"], d["output"] = str(self.source), str(self.output)
        d["dropped"] = [x.to_dict() for x in self.dropped]
        d.pop("kept_text")
        return d


def slug_for(path: Path) -> str:
    """A stable ASCII slug from the file stem: `003_e209faa97b8e23a2.txt` -> `003-e209faa97b8e23a2`."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    if slug:
        return slug
    # a stem with no ASCII at all (如何处理客户不满.txt): a short hash keeps it stable and unique
    return "manual-" + hashlib.sha1(path.stem.encode("utf-8")).hexdigest()[:10]


def load_front_matter(path: Path | str) -> tuple[dict, str]:
    """(front matter, body) of a manual file; ({}, text) when it has no front matter."""
    path = Path(path)
    data = textio.read_file(path, what="手册文件", limit=textio.MANUAL_MAX_BYTES)
    return split_front_matter(textio.decode(data, what=f"文件 {path.name} "))


def render(manual: CleanedManual) -> str:
    meta = {
        "title": manual.title,
        "source_file": manual.source_file,
        "source_site": manual.source_site,
    }
    front = yaml.safe_dump(
        meta, allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000
    )
    return f"---\n{front}---\n\n{manual.text}\n"


def _inputs(paths: list[Path]) -> list[Path]:
    """Files to ingest: the files given, and the supported files directly inside folders given."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not found:
                raise InputError(
                    f"文件夹 {path} 中没有 .txt/.md/.html 手册（no manuals in the folder）。"
                )
            files += found
        else:
            files.append(path)
    return files


def clean_file(
    path: Path, title: str | None = None, keep: frozenset[str] | set[str] = frozenset()
) -> CleanedManual:
    """Read, decode and clean one manual file; InputError names the file when it cannot be used."""
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(
            f"文件 {path.name} 的类型不受支持：只接受 .txt、.md、.html、.htm（unsupported file type）。"
        )
    data = textio.read_file(path, what="手册文件", limit=textio.MANUAL_MAX_BYTES)
    raw = textio.decode(data, what=f"文件 {path.name} ")
    if not raw.strip():
        raise InputError(f"文件 {path.name} 是空的，没有可导入的手册内容（the file is empty）。")
    meta, raw = split_front_matter(raw) if path.suffix.lower() == ".md" else ({}, raw)
    manual = clean(raw, filename=path.name, title=title or meta.get("title") or None, keep=keep)
    if len(re.sub(r"\s", "", manual.text)) < MIN_MANUAL_CHARS:
        raise InputError(
            f"文件 {path.name} 清洗后只剩 {len(manual.text.strip())} 个字符，不像一份手册"
            f"（too little text left after cleaning）。"
        )
    return manual


def _write_atomic(path: Path, text: str) -> None:
    """Temp file + rename: a reader (or the indexer) never sees a half-written manual."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; manuals are shared, readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ingest(
    paths: list[Path],
    out_dir: Path | None = None,
    title: str | None = None,
    *,
    keep: frozenset[str] | set[str] = frozenset(),
    dry_run: bool = False,
) -> list[IngestReport]:
    """Clean each manual and write knowledge/manuals/<slug>.md; all files are checked before any is written.

    `title` overrides the detected title (meant for a single file); lines in `keep` (as the
    cleaning report shows them) are kept; `dry_run` reports without writing anything.
    """
    # Never into the package: DRAFTER_KNOWLEDGE, else DRAFTER_HOME/knowledge (seeded on first write).
    if out_dir is not None:
        out_dir = Path(out_dir)
    elif dry_run:  # nothing is written: the knowledge folder is not seeded either
        out_dir = current().knowledge_dir / "manuals"
    else:
        out_dir = current().writable_knowledge_dir() / "manuals"
    files = _inputs(list(paths))
    if not files:
        raise InputError("没有给出要导入的手册文件（no files given）。")
    planned: dict[str, tuple[Path, CleanedManual]] = {}
    for path in files:
        manual = clean_file(path, title, keep)
        slug = slug_for(path)
        if slug in planned and planned[slug][0].resolve() != path.resolve():
            raise InputError(
                f"文件 {planned[slug][0].name} 和 {path.name} 会写入同一个 {slug}.md，请重命名其一。"
            )
        planned[slug] = (path, manual)
    reports = []
    for slug, (path, manual) in planned.items():
        output = out_dir / f"{slug}.md"
        if not dry_run:
            _write_atomic(output, render(manual))
            current().invalidate()
        reports.append(
            IngestReport(
                source=path,
                output=output,
                slug=slug,
                title=manual.title,
                source_site=manual.source_site,
                bytes_in=path.stat().st_size,
                chars_out=len(manual.text),
                kept_lines=manual.kept_lines,
                dropped=manual.dropped,
                written=not dry_run,
                kept_text=manual.text,
            )
        )
    return reports
