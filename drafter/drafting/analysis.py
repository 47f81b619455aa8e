"""What a customer's message is made of: its issues and its particulars.

``analyse(message) -> Analysis``: the message is cut into sentences (and numbered points, and
一是…二是…), each sentence is scored against the topics of knowledge/analysis.yaml, and the
topics found become the issues, in the order the customer raised them. A sentence without a
topic goes on about the issue before it. Opening and closing politeness (您好！ 谢谢！) is
neither an issue nor a feeling. Per issue: what the customer does in it (complains, requests,
asks, thanks, threatens to escalate), whose fault it is as the customer tells it, a confidence
and the runner-up topic. The slots are the message's particulars, typed: the product as
written, order / tracking / ticket numbers, staff ids, amounts with their role, dates, the
customer's own deadline, phone numbers and the customer's name.

Everything the analysis knows is data (knowledge/analysis.yaml); this module only counts.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import Field

from drafter.knowledge.files import knowledge_file, read_model
from drafter.models.base import Strict
from drafter.state import current
from drafter.text.facts import addressee, fact_spans

ANALYSIS_FILE = "analysis.yaml"
STRONG, CUE, WEAK, PATTERN = 3, 2, 1, 2
# Below this share of its sentences' scores, an issue's topic is a guess: the agent confirms.
CONFIDENT = 0.6
FALLBACK_TOPIC = "information"
QUIET_MERGE = True
HARASSMENT = "harassment"


# ----------------------------------------------------------------------------- the data


class TopicSpec(Strict):
    id: str
    label: str
    strong: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    weak: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    pattern_weight: int = Field(PATTERN, ge=1, description="what a pattern match weighs")
    english: list[str] = Field(default_factory=list)


class SlotSpec(Strict):
    staff_id: str
    deadline: str
    brands: list[str]
    kinds: list[str]
    tracking_formats: str
    product_stops: str
    no_forward: str


class AnalysisFile(Strict):
    version: int
    topics: list[TopicSpec] = Field(min_length=1)
    abuse: list[str]
    acts: dict[str, str]
    politeness: str
    subject: str
    fault: dict[str, str]
    not_restated: str
    slots: SlotSpec


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    words: tuple[tuple[str, int], ...]  # (cue, weight), longest first
    patterns: tuple[re.Pattern[str], ...]
    pattern_weight: int = PATTERN


@dataclass(frozen=True)
class Spec:
    topics: tuple[Topic, ...]
    abuse: tuple[re.Pattern[str], ...]
    acts: dict[str, re.Pattern[str]]
    politeness: re.Pattern[str]
    subject: re.Pattern[str]
    fault: dict[str, re.Pattern[str]]
    staff_id: re.Pattern[str]
    deadline: re.Pattern[str]
    product: re.Pattern[str]
    no_forward: re.Pattern[str]
    not_restated: re.Pattern[str]
    product_stops: str
    tracking_format: re.Pattern[str]
    kinds: tuple[str, ...]

    def label(self, topic: str) -> str:
        return next((t.label for t in self.topics if t.id == topic), topic)


def load_spec(path: Path | None = None) -> Spec:
    if path is not None:
        return _read(path)
    return current().artefact("analysis", lambda: _read(_spec_path()))


def _spec_path() -> Path:
    return knowledge_file(ANALYSIS_FILE)


def _read(path: Path) -> Spec:
    return read_model(path, AnalysisFile, "消息分析文件", _build)


def _build(spec: AnalysisFile) -> Spec:
    topics = []
    for t in spec.topics:
        words = {w: STRONG for w in t.strong}
        for w in [*t.cues, *t.english]:
            words.setdefault(w, CUE)
        for w in t.weak:
            words.setdefault(w, WEAK)
        ordered = tuple(sorted(words.items(), key=lambda wv: -len(wv[0])))
        patterns = tuple(re.compile(p) for p in t.patterns)
        topics.append(Topic(t.id, t.label, ordered, patterns, t.pattern_weight))
    s = spec.slots
    brands = "|".join(sorted(map(re.escape, s.brands), key=len, reverse=True))
    kinds = "|".join(sorted(map(re.escape, s.kinds), key=len, reverse=True))
    # A model: tokens of letters and digits, spaces between them (Pro 14 2023款, WF-1000XM5).
    model = (
        r"[A-Za-z0-9][A-Za-z0-9.\-+]*(?:\s?[A-Za-z0-9][A-Za-z0-9.\-+]*)*(?:款|代|寸|英寸|版|匹)?"
    )
    product = re.compile(
        rf"(?:(?:{brands})\s?(?:[\u4e00-\u9fff]{{0,6}}?)\s?{model}(?:\s?(?:{kinds}))?"
        rf"|(?:{brands})[\u4e00-\u9fff]{{0,4}}(?:{kinds})"
        rf"|[A-Za-z0-9][A-Za-z0-9.\-+]*(?:{kinds}))"
    )
    return Spec(
        topics=tuple(topics),
        abuse=tuple(re.compile(p) for p in spec.abuse),
        acts={k: re.compile(v) for k, v in spec.acts.items()},
        politeness=re.compile(spec.politeness, re.IGNORECASE),
        subject=re.compile(spec.subject),
        fault={k: re.compile(v) for k, v in spec.fault.items()},
        staff_id=re.compile(s.staff_id),
        deadline=re.compile(s.deadline),
        product=product,
        no_forward=re.compile(s.no_forward),
        not_restated=re.compile(spec.not_restated),
        product_stops=s.product_stops,
        tracking_format=re.compile(s.tracking_formats),
        kinds=tuple(sorted(set(s.kinds), key=len, reverse=True)),
    )


# ----------------------------------------------------------------------------- results


@dataclass
class Issue:
    """One thing the customer raises."""

    topic: str  # an id of analysis.yaml's topics
    label: str
    acts: list[str]  # complaint, request, question, thanks, escalation_threat, abuse
    fault: str  # ours, not_ours, customer, unknown
    confidence: float  # the topic's share of its sentences' cue scores
    runner_up: str | None
    start: int  # the customer's words for it: message[start:end]
    end: int
    text: str
    gist: str = ""  # its most telling clause, in the reply's person (我 → 您)
    own_acts: list[str] = field(default_factory=list)  # acts its words show (no default)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Amount:
    text: str
    role: str  # paid, price, difference, refund, compensation_demanded, fee, other


@dataclass
class Slots:
    product: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    tracking: list[str] = field(default_factory=list)
    ticket: list[str] = field(default_factory=list)
    staff_id: list[str] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    deadline: list[str] = field(default_factory=list)
    phone: list[str] = field(default_factory=list)
    name: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Analysis:
    issues: list[Issue]
    slots: Slots
    abuse: list[str]  # insults found (never echoed)
    escalation: bool  # 12315, media, a lawyer …
    no_forward: bool  # the customer asked not to be told it will be passed on
    angry: bool

    def to_dict(self) -> dict:
        return {
            "issues": [i.to_dict() for i in self.issues],
            "slots": self.slots.to_dict(),
            "abuse": list(self.abuse),
            "escalation": self.escalation,
            "no_forward": self.no_forward,
            "angry": self.angry,
        }


# ----------------------------------------------------------------------------- sentences

_END = "。！？!?；;\n"
# Where a new point starts inside a sentence: numbered points, 一是/二是, 另外, 还有.
_POINT = re.compile(
    r"(?:^|(?<=[，,：:\s]))(?=(?:[0-9]{1,2}[.、)）]|[（(][0-9]{1,2}[)）]|[一二三四五六七八九十]、|第[一二三四五六]"
    r"[、，,点]?|[一二三四五]是|另外|还有(?!什么)|再就是|其次|再者|最后))"
)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence and numbered point of ``text``, stripped."""
    cuts = {0, len(text)}
    for i, ch in enumerate(text):
        if ch in _END:
            cuts.add(i + 1)
    for m in _POINT.finditer(text):
        cuts.add(m.start())
    out = []
    bounds = sorted(cuts)
    for a, b in itertools.pairwise(bounds):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


# A comma ends a clause, but not inside a number (5，499元 is five thousand and more).
_COMMA = re.compile(r"[，,、](?![0-9]{3}(?![0-9]))|(?<![0-9])[，,、]")


def units(text: str) -> list[tuple[int, int]]:
    """The clauses of each sentence (a comma ends one): a customer often packs two issues in
    one run-on sentence (收到的是4 Lite，外壳还裂了条缝)."""
    out = []
    for a, b in sentences(text):
        start = a
        for m in _COMMA.finditer(text, a, b):
            if m.start() > start:
                out.append((start, m.start()))
            start = m.end()
        if b > start:
            out.append((start, b))
    return out


def _scored(spec: Spec, text: str) -> tuple[dict[str, int], set[str]]:
    """Cue scores per topic, and the topics a strong cue or a pattern named."""
    lowered = text.lower()
    scores: dict[str, int] = {}
    strong: set[str] = set()
    for t in spec.topics:
        total, seen = 0, list[str]()
        for word, weight in t.words:
            hay = lowered if word.isascii() else text
            needle = word.lower() if word.isascii() else word
            if needle in hay and not any(needle in s for s in seen):
                total += weight
                seen.append(needle)
                if weight >= STRONG:
                    strong.add(t.id)
        hits = sum(t.pattern_weight for rx in t.patterns if rx.search(text))
        if hits:
            strong.add(t.id)
        total += hits
        if total:
            scores[t.id] = total
    return scores, strong


def _acts(spec: Spec, text: str) -> list[str]:
    return [name for name, rx in spec.acts.items() if rx.search(text)]


def _is_abuse(spec: Spec, text: str) -> list[str]:
    return [m.group(0) for rx in spec.abuse for m in rx.finditer(text)]


# ----------------------------------------------------------------------------- issues


@dataclass
class _Sentence:
    start: int
    end: int
    text: str
    scores: dict[str, int]
    polite: bool
    acts: list[str] = field(default_factory=list)
    strong: set[str] = field(default_factory=set)  # topics a strong cue or pattern named


def analyse(message: str, *, injected: list[tuple[int, int]] | None = None) -> Analysis:
    """The issues and slots of ``message``. ``injected``: spans of instructions to the
    assistant (never an issue, and never a slot)."""
    spec = load_spec()
    injected = injected or []
    sign_off_start = _sign_off(message)
    # A Traditional message is scored on its Simplified copy (the cues are written once); the
    # spans stay the customer's, so only a copy of the same length will do.
    scored_text = _simplified_copy(message)
    found: list[_Sentence] = []
    for a, b in units(message):
        # Words that instruct the assistant are not the customer's issue: a clause keeps
        # only what comes before them.
        for s_, e_ in injected:
            if s_ < b and a < e_:
                b = max(a, min(b, s_))
        if b - a < 2:
            continue
        piece = message[a:b]
        line_start = message.rfind("\n", 0, a) + 1
        if spec.subject.match(message[line_start:a] + piece) and "\n" in message:
            continue  # the subject line of an e-mail
        if sign_off_start is not None and a >= sign_off_start:
            continue  # the e-mail's sign-off (老会员 郑女士, 电话：…)
        polite = bool(spec.politeness.search(piece.strip()))
        plain = scored_text[a:b]
        scores, strong = ({}, set()) if polite else _scored(spec, plain)
        acts = _acts(spec, plain)
        found.append(_Sentence(a, b, piece, scores, polite, acts, strong))
    abuse = [w for s in found for w in _is_abuse(spec, s.text)]
    complained = any("complaint" in s.acts for s in found)
    if complained:
        for s in found:  # a question in a message that complains asks about the problem
            if "complaint" not in s.acts and "question" in s.acts:
                s.acts = [*s.acts, "complaint"]
    points = _points(message)
    if len(points) >= 2:
        issues = _numbered_issues(spec, message, found, points)
    else:
        issues = _issues(spec, message, found)
    if not issues and abuse:
        issues = [_issue(spec, message, HARASSMENT, [s for s in found if not s.polite])]
    slots = extract_slots(message, spec, injected)
    text_acts = _acts(spec, message)
    return Analysis(
        issues=issues,
        slots=slots,
        abuse=list(dict.fromkeys(abuse)),
        escalation="escalation_threat" in text_acts,
        no_forward=bool(spec.no_forward.search(message)),
        angry=bool(abuse) or any("complaint" in i.acts for i in issues),
    )


# A numbered point at the start of a line: 1. / 1、 / (1) / 一、 / 第一，
_LINE_POINT = re.compile(
    r"(?m)^[ \t]*(?:[0-9]{1,2}[.、)）](?![0-9])|[（(][0-9]{1,2}[)）]|[一二三四五六七八九十]{1,2}[、.]|第[一二三四五六七八九十][、，,：:点])"
)


def _points(message: str) -> list[int]:
    """Where each numbered point of the message starts (none, or one, when it numbers none)."""
    return [m.start() for m in _LINE_POINT.finditer(message)]


def _numbered_issues(
    spec: Spec, message: str, found: list[_Sentence], points: list[int]
) -> list[Issue]:
    """The customer numbered their points: each point is an issue, in their order, however
    many share a topic; what comes before and after the list adds an issue only when it is
    about something no point is."""
    bounds = [*points, len(message)]
    out: list[Issue] = []
    inside: set[int] = set()
    for a, b in itertools.pairwise(bounds):
        members = [s for s in found if a <= s.start < b and not s.polite]
        if not members:
            continue
        inside.update(id(s) for s in members)
        totals: dict[str, int] = {}
        for s in members:
            for k, v in s.scores.items():
                totals[k] = totals.get(k, 0) + v
        strong = set().union(*(s.strong for s in members))
        acts = sorted({a for s in members for a in s.acts})
        topic = _best(spec, totals, acts, strong) or FALLBACK_TOPIC
        out.append(_issue(spec, message, topic, members))
    rest = [s for s in found if id(s) not in inside]
    listed = {i.topic for i in out}
    # Around the list: a new topic, or a question of its own; not a heading (情况如下：).
    out += [
        i
        for i in _issues(spec, message, rest)
        if i.topic not in listed and (i.topic != FALLBACK_TOPIC or "question" in i.own_acts)
    ]
    return sorted(out, key=lambda i: i.start)


def _simplified_copy(message: str) -> str:
    """``message`` in Simplified characters when it is Traditional and the copy keeps every
    offset; else ``message`` itself."""
    from drafter.text import script

    if not re.search(r"[\u4e00-\u9fff]", message) or not script.is_traditional(message):
        return message
    copy = script.to_simplified(message)
    return copy if len(copy) == len(message) else message


def _sign_off(message: str) -> int | None:
    """Where an e-mail's sign-off starts: its last lines when each is short and ends without
    a sentence's punctuation (张女士 / 采购部 / 电话 0755-…); None for a chat."""
    lines = message.rstrip().split("\n")
    if len(lines) < 3:
        return None
    at = len(message.rstrip())
    start = None
    for line in reversed(lines):
        at -= len(line)
        text = line.strip()
        if text and (len(text) > 16 or text[-1] in "。！？!?；;，,"):
            break
        if text:
            start = at
        at -= 1  # the newline
    return start


def _best(
    spec: Spec,
    scores: dict[str, int],
    acts: list[str] | None = None,
    strong: set[str] | None = None,
) -> str | None:
    """The clause's topic: the highest score; a plain question only when nothing else;
    harassment words beside a real topic only colour it. A question that reports no problem
    and names a topic only by its lesser cues (会员能不能升舱？) asks for information."""
    acts = acts or []
    lesser = not ((strong or set()) - {FALLBACK_TOPIC, HARASSMENT})
    if "question" in acts and "complaint" not in acts and FALLBACK_TOPIC in scores and lesser:
        return FALLBACK_TOPIC
    real = {k: v for k, v in scores.items() if k not in (FALLBACK_TOPIC, HARASSMENT)}
    if scores.get(HARASSMENT, 0) > WEAK and max(real.values(), default=0) <= WEAK:
        return HARASSMENT  # abuse with a passing mention (你们客服全是sb)
    pool = real or {k: v for k, v in scores.items() if k != HARASSMENT} or scores
    if not pool:
        return None
    order = [t.id for t in spec.topics]
    return max(pool, key=lambda k: (pool[k], -order.index(k)))


def _issues(spec: Spec, message: str, found: list[_Sentence]) -> list[Issue]:
    groups: dict[str, list[_Sentence]] = {}
    weak: list[tuple[int, str]] = []
    current_topic: str | None = None
    pending: list[_Sentence] = []  # sentences with no topic before the first topic
    for s in found:
        if s.polite:
            continue
        topic = _best(spec, s.scores, s.acts, s.strong)
        # A clause with only a passing word of a topic (送到, 订单号, 谢谢) goes on about the
        # issue at hand, or waits for the next; it starts an issue only with a real cue, or
        # when the message has nothing better (below).
        fresh = topic is not None and topic != current_topic and topic not in groups
        if fresh and topic is not None and s.scores.get(topic, 0) <= WEAK:
            weak.append((s.scores[topic], topic))
            topic = None
        if topic is None:
            if current_topic is None:
                pending.append(s)
            else:
                groups[current_topic].append(s)
            continue
        # A plain question after a real issue asks about that issue.
        if topic == FALLBACK_TOPIC and current_topic not in (None, FALLBACK_TOPIC):
            groups[current_topic].append(s)
            continue
        groups.setdefault(topic, [])
        if pending:
            groups[topic].extend(pending)
            pending = []
        groups[topic].append(s)
        current_topic = topic
    if not groups and pending:
        order = [t.id for t in spec.topics]
        best = max(weak, key=lambda wt: (wt[0], -order.index(wt[1])))[1] if weak else None
        groups[best or FALLBACK_TOPIC] = pending
    # Abuse beside a real issue only colours it; a question beside one is its own issue
    # only when it asks in a sentence of its own with more than a passing word.
    real = [t for t in groups if t not in (FALLBACK_TOPIC, HARASSMENT)]
    if real:
        groups.pop(HARASSMENT, None)
        info = groups.get(FALLBACK_TOPIC)
        if info is not None and sum(s.scores.get(FALLBACK_TOPIC, 0) for s in info) < CUE:
            first = real[0]
            groups[first].extend(groups.pop(FALLBACK_TOPIC))
    out = [_issue(spec, message, topic, members) for topic, members in groups.items()]
    # An issue the customer says nothing of their own about (no complaint, request or
    # question in its words, and no clause that tells it) is part of the one before it.
    out.sort(key=lambda i: i.start)
    kept: list[Issue] = []
    for i in out:
        if kept and not i.own_acts and not i.gist and i.topic != "thanks":
            head = kept[-1]
            members = sorted([*groups[head.topic], *groups[i.topic]], key=lambda m: m.start)
            groups[head.topic] = members
            kept[-1] = _issue(spec, message, head.topic, members)
            continue
        kept.append(i)
    out = kept
    # In a message of praise, what is praised (师傅上门特别专业) is part of the thanks, not an
    # issue of its own, unless the customer complains, asks or requests something there.
    thanks = next((i for i in out if i.topic == "thanks"), None)
    if thanks is not None:
        # Praise that carries the message (师傅当天就到了……特意写邮件表扬一下): the trouble it
        # tells of is the story of the praise, unless the customer asks for something there.
        praised = any("thanks" in s.strong for s in groups["thanks"])
        allowed = {"complaint"} if praised else set()
        quiet = [i for i in out if i is not thanks and set(i.own_acts) <= allowed]
        if quiet:
            merged = sorted(
                [*groups["thanks"], *(m for i in quiet for m in groups[i.topic])],
                key=lambda m: m.start,
            )
            out = [i for i in out if i not in quiet and i is not thanks]
            out.append(_issue(spec, message, "thanks", merged))
    return sorted(out, key=lambda i: i.start)


def _issue(spec: Spec, message: str, topic: str, members: list[_Sentence]) -> Issue:
    members = sorted(members, key=lambda s: s.start)
    totals: dict[str, int] = {}
    for s in members:
        for k, v in s.scores.items():
            totals[k] = totals.get(k, 0) + v
    mine = totals.get(topic, 0)
    others = sorted(((v, k) for k, v in totals.items() if k != topic), reverse=True)
    runner = others[0][1] if others else None
    confidence = mine / (mine + (others[0][0] if others else 0)) if mine else 0.0
    start, end = members[0].start, members[-1].end
    text = " ".join(s.text for s in members)
    acts = _acts(spec, text)
    if topic == "thanks":
        acts = [a for a in acts if a != "complaint"] or ["thanks"]
    if any(_is_abuse(spec, s.text) for s in members):
        acts.append("abuse")
    fault = "unknown"
    for name, rx in spec.fault.items():  # in the file's order: the customer owning up first
        if rx.search(text):
            fault = "not_ours" if name == "cleared" else name
            break
    return Issue(
        topic=topic,
        label=spec.label(topic),
        own_acts=list(acts),
        acts=acts or (["question"] if topic == FALLBACK_TOPIC else ["complaint"]),
        fault=fault,
        confidence=round(confidence, 2),
        runner_up=runner,
        start=start,
        end=end,
        text=message[start:end],
        gist=gist(spec, members, topic),
    )


# ----------------------------------------------------------------------------- the gist

# Inside one unit (a clause already), only what a comma inside a number did not split.
_CLAUSE = re.compile(r"[^。！？!?；;：:\n]+")
_PAIRS = {"（": "）", "(": ")", "“": "”", "「": "」", "《": "》", "【": "】"}


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in _PAIRS.items())


_LEAD = re.compile(
    r"^(?:而且|并且|然后|还有|另外|再就是|其次|最后|所以|结果|但是|可是|不过|就是|但|也就是说|请问|麻烦问一下|想问一下|问一下|[0-9一二三四五]+[.、)）]|第[一二三四五六][、，,点]?|[一二三四五]是)+"
)
_TAIL = re.compile(
    r"(?:啊|吧|呢|哈|呀|啦|嘛|哦|喔|噢|了吧|是吧|好吗|行吗|可以吗|[!！?？~～。.\s])+$"
)
_PERSON = [
    ("我们", "您"),
    ("咱们", "您"),
    ("你们", "我们"),
    ("您们", "我们"),
    ("我", "您"),
    ("你", "我"),
]


def shift_person(text: str) -> str:
    """The customer's words in the reply's person: 我 → 您, 你们 → 我们."""
    out, i = [], 0
    while i < len(text):
        for a, b in _PERSON:
            if text.startswith(a, i):
                out.append(b)
                i += len(a)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _flagged(text: str) -> bool:
    """Whether the tone rules would flag something in ``text`` (a reply never says it)."""
    from drafter.rules.engine import analyse as tone
    from drafter.rules.pack import get_pack

    return bool(tone(text, get_pack()).flags)


def gist(spec: Spec, members: list[_Sentence], topic: str) -> str:
    """The clause that says most about the issue (its topic's cues, its facts), short, in
    the reply's person; never one with abuse in it. Empty when none will do."""
    best: tuple[int, int, str] | None = None
    t = next((x for x in spec.topics if x.id == topic), None)
    for s in members:
        for m in _CLAUSE.finditer(s.text):
            clause = _TAIL.sub("", _LEAD.sub("", m.group(0).strip())).strip()
            if not _balanced(clause):
                continue  # a clause cut inside brackets (（应为9144…)
            if not (4 <= len(clause) <= 40) or _is_abuse(spec, clause):
                continue
            latin = len(re.findall(r"[A-Za-z]", clause))
            if latin > len(re.findall(r"[\u4e00-\u9fff]", clause)):
                continue  # a reply in Chinese restates in Chinese, not the customer's English
            if spec.not_restated.search(clause):
                continue  # scorn, sarcasm, a demand we will not meet: never echoed
            if _flagged(shift_person(clause)):
                continue  # words the house tone would flag (好像, 叫什么, jargon) stay out
            cue = sum(w for word, w in (t.words if t else ()) if word in clause)
            if cue <= WEAK:
                continue  # it must say what the issue is, not only carry its number
            score = 2 * cue + len(fact_spans(clause))
            if best is None or score > best[0]:
                best = (score, -len(clause), clause)
    if best is None or best[0] == 0:
        return ""
    return shift_person(best[2])


# ----------------------------------------------------------------------------- slots

_TRACKING = re.compile(r"(?:快递|运单|物流|快遞|運單|物流)(?:单)?(?:号|號|单号)")
_ORDER = re.compile(r"(?:订单|訂單)(?:号|號|编号|編號)?\s*[:：]?\s*$")
_TICKET = re.compile(
    r"(?:工单|投诉单|受理|服务单|报修单|售后单|案件|工單|報修|投訴)(?:号|號|编号)?"
)
_PRICE = {
    "difference": re.compile(r"差价|差價|差了"),
    "compensation_demanded": re.compile(r"赔|补偿|賠|補償"),
    "refund": re.compile(r"退|返还|返款|退还"),
    "fee": re.compile(r"费|收了|收取|扣|費"),
    "paid": re.compile(r"付|花了|买的|买了|实付|支付|下单|購買|買"),
    "price": re.compile(r"价|降到|卖|現價|售價|原价"),
}


def _role(message: str, start: int, end: int) -> str:
    before = message[max(0, start - 8) : start]
    after = message[end : end + 4]
    for role, rx in _PRICE.items():
        if rx.search(before) or (role in ("refund", "compensation_demanded") and rx.search(after)):
            return role
    return "other"


# A model code: letters and digits together (E60VDS, KFR-26GW, AC2887, X40).
_CODE = r"(?:[A-Za-z]{1,6}-?[A-Za-z0-9]*[0-9][A-Za-z0-9-]*|[0-9]+[A-Za-z][A-Za-z0-9-]*)"
_CJK_CODED = re.compile(
    rf"([\u4e00-\u9fff]{{1,10}})\s?((?:[A-Za-z]+\s)?{_CODE}(?:\s{_CODE})*)(?![A-Za-z0-9])"
)
# A product named in Latin letters: capitalised words with a model number among them
# (Dyson Purifier Cool TP07, Redmi Note 13 Pro 8+256GB).
_LATIN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z][A-Za-z]+(?:\s(?:[A-Za-z]*[0-9][A-Za-z0-9+]*|[A-Z][A-Za-z]*)(?![A-Za-z0-9]))+"
    r"(?:\s?[\u4e00-\u9fff]{1,2}(?=[，,。！!？?\s]|$))?"
)


_ASKING = re.compile(
    r"请|請|希望|要求|必须|必須|务必|務必|麻烦|麻煩|如果|不然|否则|否則|再不|给我|給我|之前还没|前还没"
)


def _coded_products(message: str, spec: Spec) -> list[tuple[int, int]]:
    """Products written as a brand or kind in Chinese followed by a model code (史密斯E60VDS,
    小熊电热水壶ZDH-A15G1), or in Latin letters with a model number in them."""
    out = []
    for m in _CJK_CODED.finditer(message):
        head = m.group(1)
        cut = max((head.rfind(ch) for ch in spec.product_stops), default=-1)
        head = head[cut + 1 :]
        scorn = list(spec.not_restated.finditer(head))
        if scorn:  # 破手机X9: the product is X9
            head = head[scorn[-1].end() :]
        elif not head:
            continue  # a code with no name before it (单号是 WO-886…): a number, not a product
        if head and _NUMBER_WORD.search(head):
            continue  # 订单号A123, 工号G12: a number, not a product
        if re.search(r"[0-9]{7,}", m.group(2)):
            continue  # a long run of digits is an order, tax or ticket number, not a model
        end = m.end(2)
        kind = next(
            (k for k in spec.kinds if message.startswith(k, end + (message[end : end + 1] == " "))),
            None,
        )
        if kind:  # a kind after the model: 史密斯E60VDS热水器
            end += len(kind) + (message[end : end + 1] == " ")
        out.append((m.start(2) - len(head) - (m.start(2) - m.end(1)), end))
    for m in _LATIN.finditer(message):
        if re.search(r"[0-9]", m.group(0)) and not _MONTH.match(m.group(0)):
            end = m.end()
            gap = message[end : end + 1] == " "
            kind = next((k for k in spec.kinds if message.startswith(k, end + gap)), None)
            out.append((m.start(), end + gap + len(kind) if kind else end))
    return out


_MONTH = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\s", re.IGNORECASE)
_NUMBER_WORD = re.compile(r"(?:号|號|码|碼|编号|單|单|工号|次|班|车次|航班)$")


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans not inside a longer one, in order."""
    spans = sorted(set(spans), key=lambda ab: (ab[0], -ab[1]))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a < out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
            continue
        out.append((a, b))
    return out


def extract_slots(message: str, spec: Spec | None = None, injected=None) -> Slots:
    """The message's particulars, as the customer wrote them."""
    spec = spec or load_spec()
    injected = injected or []

    def free(a: int, b: int) -> bool:
        return not any(s <= a and b <= e for s, e in injected)

    slots = Slots()
    staff = [(m.start(1), m.end(1)) for m in spec.staff_id.finditer(message)]
    slots.staff_id = [message[a:b] for a, b in staff if free(a, b)]
    products = [m.span() for m in spec.product.finditer(message) if free(*m.span())]
    products += [p for p in _coded_products(message, spec) if free(*p)]
    # A staff id is not a product (工号为HN0562).
    products = [p for p in _outermost(products) if not any(p[0] < b and a < p[1] for a, b in staff)]
    if not products:  # no brand and no model: the kind of thing itself (空调, 冰箱)
        for k in spec.kinds:
            at = message.find(k)
            if at >= 0 and free(at, at + len(k)):
                products.append((at, at + len(k)))
                break
    for a, b in products:
        name = message[a:b].strip()
        if len(name) >= 3 and name not in slots.product:
            slots.product.append(name)
    last_kind: str | None = None
    for f in fact_spans(message):
        if not free(f.start, f.end) or any(a <= f.start < b for a, b in staff):
            continue
        if any(a <= f.start and f.end <= b for a, b in products):
            continue
        before = message[max(0, f.start - 8) : f.start]
        if f.kind == "order":
            listed = bool(re.search(r"[、,，和及]\s*$", before))
            if _ORDER.search(before):
                kind = "order"
            elif _TRACKING.search(before) or spec.tracking_format.match(f.text):
                kind = "tracking"
            elif _TICKET.search(before):
                kind = "ticket"
            elif listed and last_kind:  # the next number of a list (工单号：A、B)
                kind = last_kind
            else:
                kind = "order"
            getattr(slots, kind).append(f.text)
            last_kind = kind
        elif f.kind == "amount":
            slots.amounts.append(Amount(f.text, _role(message, f.start, f.end)))
        elif f.kind == "date":
            slots.dates.append(f.text)
        elif f.kind == "phone":
            slots.phone.append(f.text)
    asked: list[tuple[bool, int, str]] = []
    # Found in the Simplified copy (週五之前 is 周五之前), said as the customer wrote it.
    for m in spec.deadline.finditer(_simplified_copy(message)):
        text = message[m.start() : m.end()]
        if free(*m.span()) and len(text) >= 3 and text not in [t for _a, _s, t in asked]:
            # The customer's deadline is one they ask for (请在周五之前…, 如果6月10日之前还没有…);
            # a time in their story (承诺3天内送达) is ours, said back to us.
            start = max(message.rfind(ch, 0, m.start()) for ch in "。！？!?\n") + 1
            ends = [i for i in (message.find(ch, m.end()) for ch in "。！？!?\n") if i >= 0]
            sentence = message[start : min(ends, default=len(message))]
            asked.append((not _ASKING.search(sentence), m.start(), text))
    slots.deadline = [t for _a, _s, t in sorted(asked)]
    slots.name = addressee(message) or signature(message)
    return slots


_SIGN_OFF = re.compile(r"(?:^|\n)\s*(?:[—–-]+\s*)?([\u4e00-\u9fff]{2,4})\s*(?:敬上|谨上|上|\s)*$")


def signature(message: str) -> str | None:
    """The name an e-mail is signed with, alone on its last line (…\n\n李建国)."""
    from drafter.text.facts import _COMPOUND_SURNAMES, _SURNAMES

    m = _SIGN_OFF.search(message.rstrip())
    if not m or "\n" not in message.strip():
        return None
    name = m.group(1)
    if name[:2] in _COMPOUND_SURNAMES or name[0] in _SURNAMES:
        return name
    return None
