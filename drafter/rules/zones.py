"""Who speaks where in a draft: the agent's own speech, and the text that is someone else's.

The rewrite rules change only the agent's own speech. `speech_zones(text)` finds the rest:

- ``titles``: 《…》 and names or titles in quotation marks that no speaker introduces
  (「你好鲜花」, “为什么退款还没到账？”): never changed, never flagged, like facts;
- ``customer``: the customer's turns of a role-labelled script or call log (客户：…, Q: …)
  and forwarded customer text (客户反馈：…): never changed, never flagged;
- ``quoted``: the customer's words the agent quotes (您说“……”): flagged, never rewritten;
- ``reported``: the customer's words the agent reports without quotes (您刚才说你们的师傅
  迟到了), up to the end of the clause: there 你们 means *us*, so they are left as written;
- ``group``: the whole draft, when it addresses a group (你们好, 各位): 你们 is then 各位.

The labels, speech verbs and markers are data: knowledge/speech.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import Field

from drafter.knowledge.files import knowledge_file, read_model
from drafter.models.base import Strict
from drafter.state import current

SPEECH_FILE = "speech.yaml"
_CLAUSE_END = "，,。！？!?；;\n"
_SENTENCE_END = "。！？!?；;\n"
# 的 and a short noun and a colon after a speech verb: 您反映的问题：
_FIELD = re.compile(r"的[^，。！？,.!?；;：:\n]{1,6}[：:][ \t　]*")
# A label ends with a colon (客户：), or with a closing bracket, colon or not (【客户】).
_LABEL_END = r"(?:[\]】][ \t　]*[：:]?|[ \t　]*[：:])"


Pair = Annotated[list[str], Field(min_length=2, max_length=2)]


class SpeechFile(Strict):
    """knowledge/speech.yaml."""

    titles: list[Pair] = Field(description="brackets of titles and names: [open, close]")
    quotes: list[Pair] = Field(description="quotation marks: [open, close]")
    speakers: list[str] = Field(description="who may be quoted or reported")
    speech_verbs: list[str] = Field(description="verbs that introduce what someone said")
    quote_verbs: list[str] = Field(
        default_factory=list, description="verbs that introduce someone's words only in quotes"
    )
    speech_gap: int = Field(8, ge=0, le=20, description="characters between speaker and verb")
    not_speech: list[str] = Field(default_factory=list, description="look-alikes of speech verbs")
    not_report_before: str = Field(
        "", description="characters before a speaker that make it a noun phrase (的)"
    )
    not_report_after: list[str] = Field(
        default_factory=list, description="words after a verb that make it a topic (您投诉也没用)"
    )
    modals: list[str] = Field(
        default_factory=list, description="words before the verb that make it no report (您要投诉)"
    )
    continuations: list[str] = Field(
        default_factory=list, description="speaker-less continuations of reported speech (还说)"
    )
    customer_labels: list[str] = Field(description="labels of the customer's turns")
    agent_labels: list[str] = Field(description="labels of the agent's turns")
    field_labels: list[str] = Field(
        default_factory=list, description="labels that name a field, not a speaker (主题, 备注)"
    )
    label_name: int = Field(12, ge=0, le=30, description="characters of a name after a label")
    quote_lines: list[str] = Field(
        default_factory=list, description="prefixes of lines quoting an earlier message (>)"
    )
    forward_markers: list[str] = Field(description="markers of forwarded customer text")
    group_address: list[str] = Field(description="words that address a group")


@dataclass(frozen=True)
class Speech:
    """The compiled patterns of a speech file."""

    titles: re.Pattern[str]  # a bracketed title, 《…》
    quotes: dict[str, str]
    openers: re.Pattern[str]  # any opening quotation mark
    intro: re.Pattern[str]  # a speaker and a speech verb, ending where the words start
    label: re.Pattern[str]  # a labelled line; group "who" is the label
    customer_labels: frozenset[str]
    agent_labels: frozenset[str]
    field_labels: frozenset[str]
    quote_lines: re.Pattern[str]  # a line quoting an earlier message
    quote_only: frozenset[str]
    not_after: str  # characters before a speaker that make it no report
    modal: re.Pattern[str]  # 您要投诉…: an intention, not a report
    verbs: re.Pattern[str]  # a speech verb anywhere (a label's "name" must not hold one)
    forward: re.Pattern[str]
    agent_reply: re.Pattern[str]  # an agent's label inside a line (…… 回复：)
    group: re.Pattern[str]


@dataclass
class Zones:
    titles: list[tuple[int, int]] = field(default_factory=list)
    customer: list[tuple[int, int]] = field(default_factory=list)
    quoted: list[tuple[int, int]] = field(default_factory=list)
    reported: list[tuple[int, int]] = field(default_factory=list)
    group: bool = False

    @property
    def untouchable(self) -> list[tuple[int, int]]:
        """Spans no rule may change or flag: titles, the customer's turns and reported words
        (in 您刚才说你们的师傅迟到了, 你们 means us: writing 您 would invert it)."""
        return [*self.titles, *self.customer, *self.reported]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def compile_speech(spec: SpeechFile) -> Speech:
    speakers = _alternation(spec.speakers)
    verbs = _alternation([*spec.speech_verbs, *spec.quote_verbs])
    not_speech = _alternation(spec.not_speech) if spec.not_speech else "(?!)"
    opens = "".join(re.escape(o) for o, _c in spec.quotes)
    continued = _alternation(spec.continuations) if spec.continuations else "(?!)"
    topic = _alternation(spec.not_report_after) if spec.not_report_after else "(?!)"
    intro = re.compile(
        rf"(?:(?:{speakers})(?P<gap>[^{re.escape(_CLAUSE_END)}{opens}]{{0,{spec.speech_gap}}}?)"
        # 在留言里 / 投诉中: a verb followed by a place word is a noun, not speech
        rf"(?!{not_speech})(?P<verb>{verbs})(?![里裡中上内內])(?!{topic})|(?P<cont>{continued}))"
        r"(?:了|过|過|道)?\s*[：:，,]?\s*"
    )
    labels = _alternation([*spec.customer_labels, *spec.agent_labels])
    label = re.compile(
        r"^[ \t　]*(?:[\[【(（]?\d{1,2}:\d{2}(?::\d{2})?[\]】)）]?[ \t　]*)?[\[【]?"
        rf"(?P<who>{labels})(?P<name>[ \t　]*[(（][^()（）\n]{{0,{spec.label_name}}}[)）]"
        rf"|[^：:\n，。！？]{{0,{spec.label_name}}}?)?{_LABEL_END}",
        re.MULTILINE,
    )
    forward = re.compile(
        rf"(?:^|(?<=[\n。！？，,；;]))[ \t　]*(?:{_alternation(spec.forward_markers)})[ \t　]*[：:]",
        re.MULTILINE,
    )
    return Speech(
        titles=re.compile(
            "|".join(
                rf"{re.escape(o)}[^{re.escape(o + c)}\n]*{re.escape(c)}" for o, c in spec.titles
            )
            or "(?!)"
        ),
        quotes={o: c for o, c in spec.quotes},
        openers=re.compile("[" + "".join(re.escape(o) for o, _c in spec.quotes) + "]"),
        intro=intro,
        label=label,
        customer_labels=frozenset(spec.customer_labels),
        agent_labels=frozenset(spec.agent_labels),
        field_labels=frozenset(spec.field_labels),
        quote_lines=re.compile(
            rf"^[ \t　]*(?:{_alternation(spec.quote_lines)}).*$" if spec.quote_lines else "(?!)",
            re.MULTILINE,
        ),
        quote_only=frozenset(spec.quote_verbs),
        not_after=spec.not_report_before,
        modal=re.compile(_alternation(spec.modals) if spec.modals else "(?!)"),
        verbs=re.compile(verbs),
        forward=forward,
        agent_reply=re.compile(
            rf"(?<=[\s”」』\"’。！？!?])(?:{_alternation(spec.agent_labels)})[：:]"
        ),
        group=re.compile(_alternation(spec.group_address)),
    )


def load_speech(path: Path | None = None) -> Speech:
    """The speech patterns of ``path`` (default: the active knowledge's speech.yaml)."""
    if path is not None:
        return _read(path)
    state = current()
    return state.artefact("speech", lambda: _read(_speech_path()))


def _speech_path() -> Path:
    return knowledge_file(SPEECH_FILE)


def _read(path: Path) -> Speech:
    return read_model(path, SpeechFile, "说话人规则文件", compile_speech)


def _paragraph_end(text: str, start: int) -> int:
    end = text.find("\n\n", start)
    return len(text) if end < 0 else end


# Any short label at the start of a line (店长：, 王经理：) ends the turn before it.
_ANY_LABEL = re.compile(
    r"^[ \t　]*(?:[\[【(（]?\d{1,2}:\d{2}(?::\d{2})?[\]】)）]?[ \t　]*)?[\[【]?"
    r"(?P<who>[^\s：:，。！？,.!?“”「」\[\]【】]{1,8})" + _LABEL_END,
    re.MULTILINE,
)


def _turns(text: str, sp: Speech) -> list[tuple[int, int]]:
    """The customer's turns: from a customer label to the next labelled line (or blank line).

    A label of neither list (市民：, 家属：) is the customer's when the script labels the agent
    (坐席：), and the agent's when it labels the customer (客户：) and not the agent.
    """
    # 客户说：“……” is a quotation, not a label with the name 说.
    known = [m for m in sp.label.finditer(text) if not sp.verbs.search(m.group("name") or "")]
    others = [m for m in _ANY_LABEL.finditer(text) if m.start() not in {k.start() for k in known}]
    starts = sorted({m.start() for m in known} | {m.start() for m in others})
    agent_seen = any(m.group("who") not in sp.customer_labels for m in known)
    turns = [m for m in known if m.group("who") in sp.customer_labels]
    if agent_seen:
        # A speaker's turn says something on its own line; 刘经理：⏎ is a salutation.
        turns += [
            m
            for m in others
            if m.group("who") not in sp.field_labels
            and not sp.verbs.search(m.group("who"))
            and text[m.end() : m.end() + 1] not in ("", "\n", "\r")
        ]
    out = []
    for m in turns:
        later = [s for s in starts if s > m.start()]
        stop = later[0] if later else len(text)
        stop = min(stop, _paragraph_end(text, m.end()))
        for a in sp.agent_reply.finditer(text, m.end(), stop):
            stop = a.start()  # 用户原话：“……” 回复：……
            break
        if stop > m.end():
            out.append((m.end(), stop))
    return out


def _forwarded(text: str, sp: Speech) -> list[tuple[int, int]]:
    """Forwarded customer text: after 客户反馈：, the quotation that follows it, or else the rest
    of its line (of the paragraph below, when the marker ends the line) up to an agent's label
    (……回复：)."""
    out = []
    for m in sp.forward.finditer(text):
        at = m.end()
        while at < len(text) and text[at] in " \t　":
            at += 1
        if at < len(text) and text[at] in sp.quotes:
            inner = _quoted(text, sp, at)
            if inner is not None:
                out.append(inner)
                continue
        # 客户反馈：…… on the marker's line is that line; 客户反馈：⏎…… the paragraph below it.
        line_end = text.find("\n", at)
        if line_end < 0:
            line_end = len(text)
        stop = line_end if line_end > at else _paragraph_end(text, at)
        for a in sp.agent_reply.finditer(text, at, stop):
            stop = a.start()
            break
        out.append((at, stop))
    return out


def _quoted(text: str, sp: Speech, at: int) -> tuple[int, int] | None:
    """The span inside the quotation marks opening at ``at``, or None when they don't close."""
    close = sp.quotes.get(text[at])
    if close is None:
        return None
    stop = text.find(close, at + 1)
    line_end = text.find("\n", at + 1)
    if stop < 0 or (0 <= line_end < stop):
        return None
    return (at + 1, stop)


def speech_zones(
    text: str, speech: Speech | None = None, edge_ok: Callable[[int], bool] | None = None
) -> Zones:
    """Where the draft is not the agent's own speech (see the module docstring).

    ``edge_ok(pos)`` tells whether a word boundary may fall at ``pos`` (the engine passes
    jieba's): a speech verb inside a word (讲理, 说明书) introduces nothing.
    """
    sp = speech or load_speech()
    zones = Zones()
    zones.titles = [m.span() for m in sp.titles.finditer(text)]
    zones.customer = _turns(text, sp) + _forwarded(text, sp)
    zones.customer += [m.span() for m in sp.quote_lines.finditer(text)]

    introduced: dict[int, tuple[int, int]] = {}
    for m in sp.intro.finditer(text):
        if m.group("gap") and sp.modal.search(m.group("gap")):
            continue  # 您要投诉就去……: what the customer may do, not what they said
        if m.start() > 0 and text[m.start() - 1] in sp.not_after:
            continue  # 店铺的消费者投诉: a noun phrase, not a report
        verb = "verb" if m.group("verb") else "cont"
        if text[m.end(verb) : m.end(verb) + 1] == "的":
            # 您反映的问题：…… opens the customer's words (a field of a summary); 关于您提到的
            # 续约：…… or 您提到的问题我们已处理 is the agent speaking about them.
            field = _FIELD.match(text, m.end(verb))
            if field and (m.start() == 0 or text[m.start() - 1] == "\n"):
                stop = text.find("\n", field.end())
                stop = len(text) if stop < 0 else stop
                if stop > field.end():
                    zones.quoted.append((field.end(), stop))
            continue
        if edge_ok is not None and not (edge_ok(m.start(verb)) and edge_ok(m.end(verb))):
            continue
        at = m.end()
        if at < len(text) and text[at] in sp.quotes:
            inner = _quoted(text, sp, at)
            if inner is not None:
                zones.quoted.append(inner)
                introduced[at] = inner
            continue
        if m.group("verb") and m.group("verb") in sp.quote_only:
            continue  # without quotation marks this is the agent speaking, not reporting
        if m.group(0).rstrip().endswith(("：", ":")):
            # 客户说：…… without quotation marks is a quotation all the same, to the line's end.
            stop = text.find("\n", at)
            stop = len(text) if stop < 0 else stop
            if stop > at:
                zones.quoted.append((at, stop))
                introduced[at] = (at, stop - 1)
            continue
        # 您说你们的师傅迟到了，…: the clause; 您还提到，A，B。: the whole sentence.
        opens_clause = m.start() == 0 or text[m.start() - 1] in _CLAUSE_END + " \t　"
        comma = m.group(0).rstrip().endswith(("，", ","))
        ends = _SENTENCE_END if comma and opens_clause else _CLAUSE_END
        stop = at
        while stop < len(text) and text[stop] not in ends:
            stop += 1
        if stop > at:
            zones.reported.append((at, stop))
    # Quoted text no speaker introduces is a name or a title.
    resume = 0
    for q in sp.openers.finditer(text):
        i = q.start()
        if i < resume:
            continue
        if i in introduced:
            resume = introduced[i][1] + 1
            continue
        inner = _quoted(text, sp, i)
        if inner is not None:
            if not _within(zones.quoted, *inner):
                zones.titles.append((inner[0] - 1, inner[1] + 1))
            resume = inner[1] + 1
    zones.group = bool(sp.group.search(text))
    return zones


def _within(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)
