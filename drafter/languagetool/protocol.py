"""LanguageTool's HTTP API (``/v2/check``, ``/v2/languages``) over the offline rules.

No web framework here: :func:`parse_check` turns a request's parameters into a
:class:`CheckRequest` (or raises :class:`LTError` with LanguageTool's status and a one-sentence
message), :func:`check` runs the offline rules and answers in LanguageTool's JSON shape.

What LanguageTool's clients rely on, and how it is kept:

- ``offset`` and ``length`` count **UTF-16 code units**, as LanguageTool's Java strings do
  (an emoji counts 2); with annotated text (``data``) they refer to the whole document,
  markup included.
- A rewrite (你 → 您) is a match whose first replacement is the engine's rewrite, so applying
  every match's first replacement (``language_tool_python.utils.correct``) gives exactly
  ``drafter rewrite --engine offline``'s text. A flag is a match without a replacement: its
  suggestion is advice, not a text to paste, and is in the message.
- ``context.text`` is cut so that no character outside the Basic Multilingual Plane precedes
  the match in it: ``context.offset`` is then the same in UTF-16 units and in code points,
  and clients that slice the context in either (pylanguagetool slices Python strings) mark
  the same characters.
- Every match names its rule (id, description, category, issue type), links the manual
  passage that backs it (``rule.urls``, a page of our app) and carries our citation in an
  extra ``citation`` field that clients ignore.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drafter.types import Citation, RewriteResult

API_VERSION = 1
CONTEXT_CHARS = 40  # characters of context on each side of a match, as LanguageTool's default

# What /v2/languages lists; ``code`` is the short code, ``longCode`` the one clients send.
LANGUAGES = [
    {"name": "Chinese", "code": "zh", "longCode": "zh-CN"},
    {"name": "Chinese (Traditional, Taiwan)", "code": "zh", "longCode": "zh-TW"},
    {"name": "Chinese (Traditional, Hong Kong)", "code": "zh", "longCode": "zh-HK"},
]
_BY_CODE = {lang["longCode"].lower(): lang for lang in LANGUAGES} | {"zh": LANGUAGES[0]}
_ALIASES = {"zh-hans": "zh-cn", "zh-sg": "zh-cn", "zh-hant": "zh-tw", "zh-mo": "zh-hk"}

# Categories of our matches (clients group and colour by them; ``enabledCategories`` picks).
CATEGORIES = {
    "change": {"id": "HOUSE_TONE", "name": "服务语气（可自动改写）"},
    "flag": {"id": "HOUSE_TONE_REVIEW", "name": "服务语气（需人工处理）"},
}
LEVELS = ("default", "picky")
_SENTENCE_END = re.compile(r"[。！？!?…\n]+[”’」』）)]*")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class LTError(Exception):
    """A request LanguageTool would refuse: ``status`` and one sentence (sent as ``Error: …``)."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, for 429


# --------------------------------------------------------------------------- UTF-16 offsets


class Utf16:
    """Code-point offsets of one text to UTF-16 code units (identity when the text has no
    character outside the Basic Multilingual Plane, the usual case)."""

    def __init__(self, text: str) -> None:
        self.astral = [m.start() for m in _ASTRAL.finditer(text)]

    def __call__(self, offset: int) -> int:
        return offset + bisect_right(self.astral, offset - 1) if self.astral else offset


def utf16_len(text: str) -> int:
    return len(text) + len(_ASTRAL.findall(text))


# --------------------------------------------------------------------------- annotated text


@dataclass(frozen=True)
class _Piece:
    plain: int  # where the piece starts in the checked (plain) text
    doc: int  # where it starts in the whole document
    plain_len: int
    doc_len: int
    markup: bool


@dataclass
class Document:
    """The text to check and, for annotated text, how its offsets map to the document's."""

    plain: str
    doc: str
    pieces: list[_Piece] = field(default_factory=list)  # empty: plain is the document

    @classmethod
    def from_text(cls, text: str) -> Document:
        return cls(text, text)

    @classmethod
    def from_annotation(cls, raw: str) -> Document:
        """LanguageTool's annotated text: ``{"annotation": [{"text": …}, {"markup": …,
        "interpretAs": …}]}``; markup is not checked (``interpretAs`` is, in its place)."""
        try:
            data = json.loads(raw)
        except ValueError:
            raise LTError(400, "参数 data 不是有效的 JSON（data is not valid JSON）。") from None
        items = data.get("annotation") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise LTError(
                400, '参数 data 应为 {"annotation": [...]}（data must have an "annotation" list）。'
            )
        plain: list[str] = []
        doc: list[str] = []
        pieces: list[_Piece] = []
        p = d = 0
        for item in items:
            if not isinstance(item, dict) or not (("text" in item) ^ ("markup" in item)):
                raise LTError(
                    400,
                    "data 的每一项应当只有 text 或 markup 之一"
                    "（each annotation item needs either text or markup）。",
                )
            if "text" in item:
                shown = written = item["text"]
                markup = False
            else:
                written = item["markup"]
                shown = item.get("interpretAs", "")
                markup = True
            if not isinstance(shown, str) or not isinstance(written, str):
                raise LTError(400, "data 里的 text、markup 和 interpretAs 必须是字符串。")
            pieces.append(_Piece(p, d, len(shown), len(written), markup))
            plain.append(shown)
            doc.append(written)
            p += len(shown)
            d += len(written)
        return cls("".join(plain), "".join(doc), pieces)

    def to_doc(self, start: int, end: int) -> tuple[int, int, bool]:
        """A non-empty span of the plain text as a span of the document, and whether the
        document there is exactly the plain text (so a replacement may be applied)."""
        if not self.pieces:
            return start, end, True
        shown = [piece for piece in self.pieces if piece.plain_len]
        starts = [piece.plain for piece in shown]
        first = shown[max(0, bisect_right(starts, start) - 1)]
        last = shown[max(0, bisect_right(starts, end - 1) - 1)]
        a = first.doc if first.markup else first.doc + start - first.plain
        b = last.doc + last.doc_len if last.markup else last.doc + end - last.plain
        exact = not first.markup and not last.markup and self.doc[a:b] == self.plain[start:end]
        return a, b, exact


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class CheckRequest:
    document: Document
    language: dict  # one of LANGUAGES
    auto: bool  # language=auto: the answer reports what it detected
    enabled_rules: frozenset[str] = frozenset()
    disabled_rules: frozenset[str] = frozenset()
    enabled_categories: frozenset[str] = frozenset()
    disabled_categories: frozenset[str] = frozenset()
    enabled_only: bool = False
    level: str = "default"

    def wants(self, rule: str, category: str) -> bool:
        if rule in self.disabled_rules or category in self.disabled_categories:
            return False
        if self.enabled_only:
            return rule in self.enabled_rules or category in self.enabled_categories
        return True


def _ids(value: str | None) -> frozenset[str]:
    return frozenset(v.strip() for v in (value or "").split(",") if v.strip())


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = (params.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise LTError(400, f"参数 {name} 只能是 true 或 false（got {value!r}）。")
    return value == "true"


def language_for(code: str | None) -> tuple[dict, bool]:
    """(the language entry, whether it is ``auto``); an unsupported code is refused."""
    raw = (code or "").strip()
    if not raw:
        raise LTError(
            400, "缺少参数 language（如 zh-CN 或 auto）（missing 'language' parameter）。"
        )
    key = raw.lower().replace("_", "-")
    if key == "auto":
        return LANGUAGES[0], True
    key = _ALIASES.get(key, key)
    if key not in _BY_CODE:
        raise LTError(
            400,
            f"不支持语言 {raw!r}：这里只检查中文（zh-CN、zh-TW、zh-HK、zh 或 auto）"
            f"（{raw!r} is not a language this server checks）。",
        )
    return _BY_CODE[key], False


def parse_check(params: Mapping[str, str], max_chars: int) -> CheckRequest:
    """A ``/v2/check`` request's parameters (form fields or query string) as a CheckRequest."""
    text, data = params.get("text"), params.get("data")
    if text is not None and data is not None:
        raise LTError(400, "参数 text 和 data 只能给一个（set either 'text' or 'data'）。")
    if text is None and data is None:
        raise LTError(400, "缺少参数 text 或 data（missing 'text' or 'data' parameter）。")
    document = (
        Document.from_text(text) if text is not None else Document.from_annotation(data or "")
    )
    if not document.plain.strip():
        raise LTError(400, "要检查的文字是空的（the text is empty）。")
    if len(document.plain) > max_chars:
        raise LTError(
            413,
            f"文字有 {len(document.plain)} 个字符，超过上限 {max_chars}，请分段检查"
            f"（your text exceeds the limit of {max_chars} characters）。",
        )
    language, auto = language_for(params.get("language"))
    level = (params.get("level") or "default").strip().lower()
    if level not in LEVELS:
        raise LTError(400, f"参数 level 只能是 default 或 picky（got {level!r}）。")
    enabled_only = _flag(params, "enabledOnly")
    enabled_rules, enabled_categories = (
        _ids(params.get("enabledRules")),
        _ids(params.get("enabledCategories")),
    )
    if enabled_only and not (enabled_rules or enabled_categories):
        raise LTError(
            400,
            "enabledOnly=true 时需要 enabledRules 或 enabledCategories"
            "（enabledOnly needs enabledRules or enabledCategories）。",
        )
    return CheckRequest(
        document=document,
        language=language,
        auto=auto,
        enabled_rules=enabled_rules,
        disabled_rules=_ids(params.get("disabledRules")),
        enabled_categories=enabled_categories,
        disabled_categories=_ids(params.get("disabledCategories")),
        enabled_only=enabled_only,
        level=level,
    )


# --------------------------------------------------------------------------- answers


def _context(text: str, start: int, end: int) -> dict:
    """LanguageTool's context: up to CONTEXT_CHARS characters each side, ``...`` where cut,
    line breaks shown as spaces (one for one, offsets unchanged); nothing outside the Basic
    Multilingual Plane before the match, so UTF-16 and code-point offsets agree there."""
    lo = max(0, start - CONTEXT_CHARS)
    astral_before = [m.end() for m in _ASTRAL.finditer(text, lo, start)]
    if astral_before:
        lo = astral_before[-1]
    hi = min(len(text), end + CONTEXT_CHARS)
    head = "..." if lo > 0 else ""
    tail = "..." if hi < len(text) else ""
    shown = re.sub(r"[\r\n\t]", " ", text[lo:hi])
    return {
        "text": head + shown + tail,
        "offset": len(head) + start - lo,
        "length": utf16_len(text[start:end]),
    }


def _sentence(text: str, start: int, end: int) -> str:
    lo = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        lo = m.end()
    after = _SENTENCE_END.search(text, end)
    hi = after.end() if after else len(text)
    return text[lo:hi].strip()


def _short(description: str) -> str:
    """A rule's description without its examples: 称呼客户用“您”，不用“你”."""
    return re.split(r"[（(]", description, maxsplit=1)[0].strip()


def detected(text: str) -> dict:
    """What language=auto reports: Chinese, Traditional (zh-TW) when the text is written in
    Traditional characters, with the share of Han characters among letters as confidence."""
    from drafter.text.script import is_traditional

    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")
    letters = han + sum(1 for ch in text if ch.isascii() and ch.isalpha())
    confidence = round(han / letters, 3) if letters else 0.0
    lang = LANGUAGES[1] if han and is_traditional(text) else LANGUAGES[0]
    return {"name": lang["name"], "code": lang["longCode"], "confidence": confidence}


def check(
    request: CheckRequest,
    result: RewriteResult,
    rules: Mapping[str, str],
    passage_url: Callable[[Citation], str] | None = None,
    software: Mapping[str, Any] | None = None,
) -> dict:
    """The ``/v2/check`` answer for ``result`` (the offline engine's result on the request's
    plain text); ``rules`` maps rule ids to their descriptions."""
    doc = request.document
    plain = doc.plain
    to16 = Utf16(doc.doc)
    found_language = detected(plain) if request.auto else None
    code = found_language["code"] if found_language else request.language["longCode"]
    # Messages in the writer's script: a Traditional draft (zh-TW, zh-HK) reads them so.
    region = {"zh-TW": "TW", "zh-HK": "HK"}.get(code)

    def shown(text: str) -> str:
        if region is None or not text:
            return text
        from drafter.text.script import to_region

        return to_region(text, region)

    found: list[tuple[int, int, str, str, list[str], str | None, Citation | None, str]] = []
    for c in result.changes:
        found.append((c.start, c.end, "change", c.rule, [c.after], None, c.citation, c.explanation))
    for f in result.flags:
        found.append((f.start, f.end, "flag", f.rule, [], f.suggestion, f.citation, f.message))
    found.sort(key=lambda x: (x[0], x[1]))
    matches = []
    for start, end, kind, rule, replacements, suggestion, citation, message in found:
        category = CATEGORIES[kind]
        if not request.wants(rule, category["id"]):
            continue
        a, b, exact = doc.to_doc(start, end)
        if not exact:
            replacements = []  # markup inside: a replacement would delete it
        if suggestion:
            message = f"{message} 建议：{suggestion}"
        description = shown(rules.get(rule, rule))
        match: dict[str, Any] = {
            "message": shown(message),
            "shortMessage": _short(description),
            "replacements": [{"value": r} for r in replacements],
            "offset": to16(a),
            "length": to16(b) - to16(a),
            "context": _context(plain, start, end),
            "sentence": _sentence(plain, start, end),
            "type": {"typeName": "Other" if kind == "change" else "Hint"},
            "rule": {
                "id": rule,
                "description": description,
                "issueType": "style",
                "category": {"id": category["id"], "name": shown(category["name"])},
            },
            "ignoreForIncompleteSentence": False,
            "contextForSureMatch": 0,
            "citation": citation.to_dict() if citation else None,
        }
        if citation is not None and passage_url is not None:
            match["rule"]["urls"] = [{"value": passage_url(citation)}]
        matches.append(match)
    language = request.language
    answer_language: dict[str, Any] = {
        "name": language["name"],
        "code": language["longCode"],
        "detectedLanguage": found_language
        or {"name": language["name"], "code": language["longCode"], "confidence": 1.0},
    }
    return {
        "software": dict(software or {}),
        "warnings": {"incompleteResults": False, "drafter": list(result.warnings)},
        "language": answer_language,
        "matches": matches,
    }
