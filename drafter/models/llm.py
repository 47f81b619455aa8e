"""The LLM's JSON replies: one model each validates the reply and gives the schema sent.

The schema sent as ``response_format`` is :func:`strict_json_schema` of the model, so the
two cannot drift apart. Parsing stays lenient where a reply in json_object or text mode may
differ from the schema: unknown keys are ignored, a missing or null list is empty, a missing
or null string is "", and a change's number or object is kept as text (a change is a hint).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from drafter.models.base import Style, Text, dotted, issues, strict_json_schema


class Reply(BaseModel):
    """A model's reply object; the schema sent forbids unknown keys, parsing ignores them."""

    model_config = ConfigDict(extra="ignore")


def _as_hint_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value if isinstance(value, str) else str(value)
    return json.dumps(value, ensure_ascii=False)


def _as_cite_text(value: Any) -> Any:
    return str(value or "")


def _as_list(value: Any) -> Any:
    return value or []


_ARROW = re.compile(r"\s*(?:→|->|=>|⇒|改为|改成)\s*")


def _as_changes(value: Any) -> Any:
    """Changes as objects; a change a model wrote as a string ("你 → 您") or a non-object
    entry is kept as a hint ("before → after", else its explanation)."""
    if not value:
        return []
    if not isinstance(value, list):
        return value  # not a list: the model says so ("changes 应是列表")
    out = []
    for item in value:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, str) and item.strip():
            parts = _ARROW.split(item.strip().strip("“”\"'"), maxsplit=1)
            if len(parts) == 2:
                out.append({"before": parts[0].strip("“”\"' "), "after": parts[1].strip("“”\"' ")})
            else:
                out.append({"explanation": item.strip()})
    return out


HintText = Annotated[str, BeforeValidator(_as_hint_text)]
CiteText = Annotated[str, BeforeValidator(_as_cite_text)]


class ChangeHint(Reply):
    """One change as the model describes it: a hint for labelling the aligned spans."""

    before: HintText = ""
    after: HintText = ""
    rule: HintText = ""
    explanation: HintText = ""
    passage_id: HintText = ""
    quote: HintText = ""


class RewriteAnswer(Reply):
    """What the model is asked for: the rewritten draft and nothing else. Spans come from
    aligning it with the draft; each change's rule, explanation and citation are chosen by us
    from the edit actually made — so the answer costs about the draft's own length."""

    rewritten: Text


class RewriteReply(RewriteAnswer):
    """What is accepted: a model that also describes its changes gives hints for them."""

    changes: Annotated[list[ChangeHint], BeforeValidator(_as_changes)] = []


class DraftCitation(Reply):
    passage_id: CiteText = ""
    quote: CiteText = ""


class DraftReply(Reply):
    reply: Text
    citations: Annotated[list[DraftCitation], BeforeValidator(_as_list)] = []


REPLY_STYLE = Style(label=dotted, root="回复应是一个 JSON 对象")


def reply_problem(err: ValidationError, model: type[BaseModel]) -> str:
    """One line naming every problem of a reply (for the retry log and the cache check)."""
    return "模型的回复不合格式：" + "；".join(i.text for i in issues(err, model, REPLY_STYLE))


REWRITE_SCHEMA = strict_json_schema(RewriteAnswer)
DRAFT_SCHEMA = strict_json_schema(DraftReply)
