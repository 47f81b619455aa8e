"""Facts in a draft: spans no rewrite may touch (order numbers, amounts, dates, phones, URLs...).

The offline engine drops every change that overlaps a fact span; the LLM validator reuses
``fact_spans`` to check that a model kept every fact verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drafter.text import segment as tokenize

KINDS = ("url", "email", "phone", "order", "amount", "date", "time", "name")


@dataclass(frozen=True)
class FactSpan:
    kind: str  # one of KINDS
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "text": self.text}


_CN_NUM = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟兩"
_CN_DIGIT = "零〇一二两三四五六七八九十兩"
_NUM = r"\d+(?:[,，]\d{3})*(?:\.\d+)?"
_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"
# URLs stop at whitespace, quotes, brackets and any CJK or full-width character: a URL pasted
# into Chinese text runs straight into the next word (https://a.cn/x查看订单).
_URL_STOP = "\\s<>\"'“”‘’「」『』（）()【】\\[\\]\u3000-\u9fff\uff00-\uffef"

# (kind, regex). Order matters only for ties: at one start, the longest span wins. A kind
# tagged "*" needs no ASCII letter or digit (三月五日, 下午三点) and is searched everywhere.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "url",
        re.compile(
            rf"(?:https?|ftp)://[^{_URL_STOP}]+|(?<![A-Za-z0-9@.])www\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?:/[^{_URL_STOP}]*)?"
        ),
    ),
    (
        "email",
        re.compile(
            r"(?<![A-Za-z0-9._%+*-])[A-Za-z0-9._%+*-]*[A-Za-z0-9][A-Za-z0-9._%+*-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
        ),
    ),
    # Bare domains such as example.com.cn/help (no scheme).
    (
        "url",
        re.compile(
            r"(?<![A-Za-z0-9@./-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org|gov|edu|io|info|hk|tw|me|app|shop|top|xyz)(?:\.[a-z]{2})?(?![A-Za-z0-9-])(?:/[^"
            + _URL_STOP
            + r"]*)?"
        ),
    ),
    # Phones: mainland mobiles (also masked 138****1234), landlines, 400/800 hotlines.
    ("phone", re.compile(r"(?<![0-9])(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?![0-9])")),
    ("phone", re.compile(r"(?<![0-9])1[3-9]\d[*＊xX]{4}\d{4}(?![0-9])")),
    ("phone", re.compile(r"(?<![0-9])[48]00[-\s]?\d{3}[-\s]?\d{4}(?![0-9])")),
    (
        "phone",
        re.compile(r"(?<![0-9])(?:[(（]0\d{2,3}[)）]|0\d{2,3}-)\s?\d{7,8}(?:-\d{1,5})?(?![0-9])"),
    ),
    # Dates.
    (
        "date",
        re.compile(r"(?<![0-9])\d{4}\s?[-/.年]\s?\d{1,2}\s?[-/.月]\s?\d{1,2}\s?[日号號]?(?![0-9])"),
    ),
    ("date", re.compile(r"(?<![0-9])\d{4}年\d{1,2}月(?![0-9])")),
    ("date", re.compile(r"(?<![0-9])\d{1,2}月\d{1,2}[日号號](?![0-9])")),
    (
        "date*",
        re.compile(rf"(?<![0-9{_CN_DIGIT}])[{_CN_DIGIT}]{{1,3}}月[{_CN_DIGIT}]{{1,3}}[日号號]"),
    ),
    ("date", re.compile(r"(?<![0-9])\d{1,2}[日号號](?![0-9楼樓])")),
    ("date*", re.compile(r"(?:周|星期|礼拜|禮拜|週)[一二三四五六日天]")),
    ("date*", re.compile(r"今天|明天|后天|後天|昨天|前天|本周|下周|下週|本週|月底|月初|年底")),
    # Times of day and time limits.
    (
        "time",
        re.compile(
            r"(?<![0-9])\d{1,2}[:：]\d{2}(?:[:：]\d{2})?(?:\s?[-~～至到]\s?\d{1,2}[:：]\d{2})?(?![0-9])"
        ),
    ),
    (
        "time",
        re.compile(
            r"(?:上午|下午|晚上|中午|凌晨|早上|傍晚)?(?<![0-9])\d{1,2}\s?[点點时時](?:\d{1,2}分|半|整)?"
        ),
    ),
    (
        "time*",
        re.compile(
            rf"(?:上午|下午|晚上|中午|凌晨|早上|傍晚)[{_CN_DIGIT}]{{1,3}}[点點](?:半|[{_CN_DIGIT}]{{1,3}}分)?"
        ),
    ),
    (
        "time",
        re.compile(
            rf"(?<![0-9]){_NUM}\s?(?:[-~～到至]\s?{_NUM}\s?)?个?(?:小时|小時|分钟|分鐘|秒钟|秒|个工作日|個工作日|工作日|天|日内|日內|周|週|个月|個月)"
        ),
    ),
    (
        "time*",
        re.compile(
            rf"[{_CN_DIGIT}]+(?:[到至~-][{_CN_DIGIT}]+)?[个個](?:小时|小時|工作日|月)|[{_CN_DIGIT}]+(?:[到至~-][{_CN_DIGIT}]+)?(?:个工作日|分钟|分鐘)"
        ),
    ),
    # Amounts.
    ("amount", re.compile(rf"[¥￥$€£]\s?{_NUM}")),
    ("amount", re.compile(rf"(?:人民币|人民幣|RMB|CNY|USD|HKD)\s?{_NUM}\s?(?:元|圆|圓)?")),
    (
        "amount",
        re.compile(
            rf"(?<![0-9.]){_NUM}\s?(?:万|萬|千)?(?:元|块钱|塊錢|块|塊|圆|圓|美元|欧元|歐元|港币|港幣|港元|日元|英镑|英鎊|人民币|人民幣|角|毛钱|毛錢)"
        ),
    ),
    (
        "amount*",
        re.compile(rf"[{_CN_NUM}]+(?:元|圆|圓|块钱|塊錢)|[{_CN_NUM}]{{2,}}(?:块|塊)(?!儿|兒)"),
    ),
    ("amount", re.compile(rf"(?<![0-9.]){_NUM}\s?%")),
    # Order / ticket / account numbers introduced by a keyword, then bare codes and long numbers.
    (
        "order",
        re.compile(
            r"(?:订单|訂單|工单|工單|运单|運單|单|單|编|編|流水|工|卡|账|賬|帐|帳|会员|會員|序列)(?:号|號)"
            r"\s?(?:为|為|是|:|：)?\s?(?P<fact>[A-Za-z0-9][A-Za-z0-9_-]{3,})"
        ),
    ),
    (
        "order",
        re.compile(
            r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]{3,}(?![A-Za-z0-9_-])"
        ),
    ),
    ("order", re.compile(r"(?<![0-9])\d{5,}(?![0-9])")),
    # Names: Latin honorifics (Mr.F), agents introducing themselves.
    ("name", re.compile(r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Dr)\.?\s?[A-Z][A-Za-z]*")),
]

# Names followed by an honorific (王先生, 李华女士): the surname list keeps 谢谢王先生 -> 王.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施"
    "文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
    "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷"
    "晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
    "張劉陳楊黃趙吳徐孫馬許韓馮鄧蕭葉蘇魏呂蔣盧薑鍾譚陸範賈韋鄒閻龍陶賀顧龔錢嚴湯溫聶歐蘭駱藍饒"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "令狐",
    "慕容",
    "司徒",
    "歐陽",
    "諸葛",
)
_HONORIFIC = re.compile(
    r"先生|女士|小姐|老师|老師|经理|經理|主管|师傅|師傅|总监|總監|律师|律師|医生|醫生|阿姨|大爷|大爺"
)
# Words that often sit right before a name and are not part of it.
_NAME_PREFIXES = re.compile(
    r"^(?:谢谢|謝謝|感谢|感謝|尊敬的|亲爱的|親愛的|您好|你好|请|請|向|给|給|和|与|與|跟|是|的|致|对|對|让|讓|被|叫|找|问|問|联系|聯繫|告诉|告訴)+"
)
_SELF_INTRO = re.compile(
    r"(?:我是|我叫|本人是)(?:客服|专员|專員|顾问|顧問|客服代表|客服专员)?(?P<name>[小老阿][\u4e00-\u9fff]|[\u4e00-\u9fff]{2,3}?)(?=[，,。！!、\s]|$)"
)


def _word_bounds(text: str) -> tuple[set[int], set[str]]:
    """Where jieba starts a word in ``text``, and the dictionary words it found there."""

    starts, words = set(), set()
    for word, start, _end in tokenize.tokenize_with_offsets(text):
        starts.add(start)
        if len(word) > 1 and tokenize.is_word(word):
            words.add(word)
    return starts, words


def _honorific_names(text: str) -> list[FactSpan]:
    out = []
    for m in _HONORIFIC.finditer(text):
        lo = m.start()
        head = lo
        while head > 0 and lo - head < 4 and "\u4e00" <= text[head - 1] <= "\u9fff":
            head -= 1
        candidate = _NAME_PREFIXES.sub("", text[head:lo])
        if not candidate:
            continue
        starts, words = _word_bounds(candidate)
        # Keep the longest tail (at most 3 characters) that opens with a surname, starts a
        # word (上周安装师傅: 周 belongs to 上周) and is not itself a common word (安装师傅).
        for k in range(min(4, len(candidate)), 0, -1):
            tail = candidate[-k:]
            if k == 4 and tail[:2] not in _COMPOUND_SURNAMES:
                continue  # four characters only for 欧阳娜娜-like names
            if len(candidate) - k not in starts or (k > 1 and tail in words):
                continue
            if tail[:2] in _COMPOUND_SURNAMES or tail[0] in _SURNAMES:
                out.append(FactSpan("name", lo - k, m.end(), text[lo - k : m.end()]))
                break
    return out


def _self_intro_names(text: str) -> list[FactSpan]:
    out = []
    for m in _SELF_INTRO.finditer(text):
        name = m.group("name")
        if name[0] in "小老阿" or name[0] in _SURNAMES or name[:2] in _COMPOUND_SURNAMES:
            out.append(FactSpan("name", m.start("name"), m.end("name"), name))
    return out


_URL_TRAILING = ".,;:!?)]}'\""


# Most patterns need an ASCII letter or digit; they are run only on windows around those
# (a 2,000-character e-mail has few), the others (三百元, 下午三点, 王先生) on the whole text.
_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")
_MARGIN = 12  # the longest non-ASCII context of an ASCII fact (快递单号为、人民币、个工作日)
# Kinds tagged "*" above match without any ASCII letter or digit.
_SPLIT = [
    (prio, kind.rstrip("*"), p, not kind.endswith("*")) for prio, (kind, p) in enumerate(_PATTERNS)
]


def _windows(text: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for m in _ASCII_RUN.finditer(text):
        lo, hi = max(0, m.start() - _MARGIN), min(len(text), m.end() + _MARGIN)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def fact_spans(text: str) -> list[FactSpan]:
    """Facts in ``text``, sorted and non-overlapping (the longest span wins at one place)."""
    found: list[tuple[int, int, int, str]] = []  # (start, -length, priority, kind)
    windows = _windows(text)
    whole = [(0, len(text))]
    for prio, kind, pattern, ascii_only in _SPLIT:
        for lo, hi in windows if ascii_only else whole:
            for m in pattern.finditer(text, lo, hi):
                _add(found, text, prio, kind, pattern, m)
    for span in _honorific_names(text) + _self_intro_names(text):
        found.append((span.start, span.start - span.end, len(_PATTERNS), "name"))
    return _resolve(found, text)


def _add(
    found: list, text: str, prio: int, kind: str, pattern: re.Pattern[str], m: re.Match[str]
) -> None:
    start, end = m.span("fact") if "fact" in pattern.groupindex else m.span()
    if kind == "url":
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
    if end > start:
        found.append((start, start - end, prio, kind))


def _resolve(found: list[tuple[int, int, int, str]], text: str) -> list[FactSpan]:
    found.sort()
    spans: list[FactSpan] = []
    last_end = -1
    for start, neg_len, _prio, kind in found:
        end = start - neg_len
        if start < last_end:
            continue
        spans.append(FactSpan(kind, start, end, text[start:end]))
        last_end = end
    return spans


def _fact_spans_full_scan(text: str) -> list[FactSpan]:
    """Reference implementation (every pattern over the whole text), for tests."""
    found: list[tuple[int, int, int, str]] = []
    for prio, kind, pattern, _ascii in _SPLIT:
        for m in pattern.finditer(text):
            _add(found, text, prio, kind, pattern, m)
    for span in _honorific_names(text) + _self_intro_names(text):
        found.append((span.start, span.start - span.end, len(_PATTERNS), "name"))
    return _resolve(found, text)


def overlaps_fact(spans: list[FactSpan], start: int, end: int) -> bool:
    """True when ``[start, end)`` touches any fact span (spans sorted by start)."""
    for s in spans:
        if s.start >= end:
            break
        if s.end > start:
            return True
    return False


# The customer's own honorifics (先生、女士): a 师傅 or 经理 named in a message is staff.
_CUSTOMER_TITLE = re.compile(r"(?:先生|女士|小姐|太太)$")
_SURNAME_ONLY = re.compile(
    r"(?:我|本人)(?:姓|姓氏是)(?P<s>[\u4e00-\u9fff]{1,2}?)(?=[，,。！!、\s]|$|[\u4e00-\u9fff])"
)


def addressee(text: str, unknown_title: str = "先生/女士") -> str | None:
    """How the customer signs or introduces themselves (王先生, 李女士, 我姓王 -> 王先生/女士)."""
    for span in fact_spans(text):
        if span.kind != "name":
            continue
        if _CUSTOMER_TITLE.search(span.text):
            return span.text
    for m in _SELF_INTRO.finditer(text):
        name = m.group("name")
        if name[0] in _SURNAMES or name[:2] in _COMPOUND_SURNAMES:
            return name + unknown_title
    found = _SURNAME_ONLY.search(text)
    if found:
        after = text[found.start("s") : found.start("s") + 2]
        if after in _COMPOUND_SURNAMES:  # 欧阳, 司马: two characters
            return after + unknown_title
        if after[:1] in _SURNAMES:
            return after[:1] + unknown_title
    return None
