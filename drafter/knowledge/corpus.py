"""The cleaned manuals and their passages: the corpus every citation is checked against."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from drafter.retrieval import chunking
from drafter.state import current
from drafter.types import Citation, Passage


@dataclass(frozen=True)
class Manual:
    slug: str
    title: str
    source_file: str
    source_site: str
    text: str
    path: Path

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]


_FRONT_MATTER = re.compile(r"\A---\n(?P<meta>.*?)\n---\n", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict, str]:
    """(front matter, body) of a manual's text; ({}, text) when it has none."""
    text = text.replace("\r\n", "\n")
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(m.group("meta")) or {}
    except yaml.YAMLError:
        return {}, text  # not front matter after all: the whole file is the body
    if not isinstance(meta, dict):
        return {}, text
    # ingest writes one blank line after the front matter and one final newline
    return meta, text[m.end() :].removeprefix("\n").removesuffix("\n")


def load_manuals(directory: Path | None = None) -> list[Manual]:
    """Every ``*.md`` manual of the folder, sorted by slug (the body is the verbatim corpus)."""
    directory = directory or current().manuals_dir
    manuals = []
    for path in sorted(Path(directory).glob("*.md")):
        if not path.is_file():  # a folder, a FIFO or a device named *.md is no manual
            continue
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        manuals.append(
            Manual(
                slug=path.stem,
                title=str(meta.get("title") or path.stem),
                source_file=str(meta.get("source_file", "")),
                source_site=str(meta.get("source_site", "")),
                text=body.strip("\n"),
                path=path,
            )
        )
    return manuals


def _after_title(manual: Manual) -> int:
    """Where the passages begin: after the manual's first line when it is only its title
    (the title is every passage's ``source`` already; in the first passage's text it would
    make that passage match every question about the manual's subject)."""
    first, _, _ = manual.text.partition("\n")
    if first.strip() and first.strip() == manual.title.strip():
        rest = manual.text[len(first) :]
        return len(manual.text) - len(rest.lstrip())
    return 0


def chunk_manual(manual: Manual) -> list[Passage]:
    begin = _after_title(manual)
    return [
        Passage(
            passage_id=f"{manual.slug}#{i:03d}",
            source=manual.title,
            slug=manual.slug,
            text=manual.text[begin + s.start : begin + s.end],
            start=begin + s.start,
            end=begin + s.end,
        )
        for i, s in enumerate(chunking.chunk_spans(manual.text[begin:]))
    ]


class Corpus:
    """Manuals plus their passages; passages are cached on disk keyed by content."""

    def __init__(self, manuals: list[Manual]):
        self.manuals = manuals
        self.by_slug = {m.slug: m for m in manuals}
        self.passages = self._load_passages()
        self.by_id = {p.passage_id: p for p in self.passages}

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256(chunking.CHUNKER_VERSION.encode())
        for m in self.manuals:
            h.update(f"{m.slug}\0{m.title}\0{m.sha}\0".encode())
        return h.hexdigest()[:16]

    def _load_passages(self) -> list[Passage]:
        cache = current().home / "cache" / f"passages-{self.fingerprint}.json"
        if cache.is_file():
            try:
                return [Passage(**p) for p in json.loads(cache.read_text(encoding="utf-8"))]
            except (ValueError, TypeError, OSError):
                pass  # a damaged cache is rebuilt below
        passages = [p for m in self.manuals for p in chunk_manual(m)]
        try:  # the cache only saves time: a read-only state folder is no error here
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps([p.__dict__ for p in passages], ensure_ascii=False), encoding="utf-8"
            )
            os.replace(tmp, cache)
        except OSError:
            pass
        return passages

    def locate(self, quote: str, slug: str | None = None) -> Citation | None:
        """A citation for ``quote`` if it is verbatim in a passage (of manual ``slug``)."""
        quote = quote.strip()
        if not quote:
            return None
        for p in self.passages:
            if (slug is None or p.slug == slug) and quote in p.text:
                return Citation(source=p.source, passage_id=p.passage_id, quote=quote)
        return None

    def verify(self, citation: Citation) -> bool:
        """True when the quote is verbatim in the passage the citation names."""
        p = self.by_id.get(citation.passage_id)
        return bool(p and citation.quote and citation.quote in p.text)


def get_corpus() -> Corpus:
    """The corpus of the active knowledge folder (reloaded when a knowledge file changes)."""
    state = current()
    return state.artefact("corpus", lambda: Corpus(load_manuals(state.manuals_dir)))


def locate(quote: str, slug: str | None = None) -> Citation | None:
    return get_corpus().locate(quote, slug)


def verify(citation: Citation) -> bool:
    return get_corpus().verify(citation)
