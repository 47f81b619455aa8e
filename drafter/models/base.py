"""What every typed model shares: the strict base, problems, and pydantic's errors as sentences.

Validators raise :func:`problem` (one phrase) or collect several with :class:`Problems`; the
loaders turn a ``ValidationError`` into one sentence per problem with :func:`issues`, in the
wording of the file's :class:`Style`, and find the YAML line of each with :func:`yaml_lines`.
:func:`strict_json_schema` is the JSON schema of a reply model as OpenAI's strict mode takes it.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[str | int, ...]

AT = "drafter_at"  # a phrase about the field at its location: shown after the field's name
WHOLE = "drafter"  # a phrase that names what it is about: shown as it is


class Strict(BaseModel):
    """A record of a data file: unknown fields refused, no coercion (YAML and JSON give types)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def problem(text: str, *, whole: bool = False) -> PydanticCustomError:
    """An error for a validator to raise: ``text`` about the field (``whole``: as it is)."""
    return PydanticCustomError(WHOLE if whole else AT, "{text}", {"text": text})


class Problems:
    """Several problems found by one validator, raised together, each at its own location."""

    def __init__(self) -> None:
        self.items: list[InitErrorDetails] = []

    def add(self, loc: Loc, text: str, *, whole: bool = False) -> None:
        self.items.append(InitErrorDetails(type=problem(text, whole=whole), loc=loc, input=None))

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError.from_exception_data("drafter", self.items)


def _nonblank(value: str) -> str:
    if not value.strip():
        raise problem("应是非空字符串")
    return value


def _nonempty(value: str) -> str:
    if not value:
        raise problem("应是非空字符串")
    return value


def empty_if_none(factory: Callable[[], Any]) -> BeforeValidator:
    """An absent list or mapping written as ``key:`` (null) is an empty one."""
    return BeforeValidator(lambda v: factory() if v is None else v)


Text = Annotated[str, AfterValidator(_nonblank)]  # a string with something besides spaces
Word = Annotated[str, AfterValidator(_nonempty)]  # a string, not ""


# --------------------------------------------------------------------------- errors as sentences


@dataclass(frozen=True)
class Style:
    """How the messages about one kind of file name things."""

    label: Callable[[Loc], str]  # the field at a location as a reader finds it ("" = the whole)
    quote: Callable[[str], str] = lambda name: f" {name!r}"  # a field name inside a sentence
    root: str = "内容应是一个映射（key: value）"  # the whole is not a mapping


@dataclass(frozen=True)
class Issue:
    loc: Loc
    text: str


def dotted(loc: Loc) -> str:
    """``("phrases", "greet", "variants", 0)`` as ``phrases.greet.variants[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def issues(err: ValidationError, model: type[BaseModel], style: Style) -> list[Issue]:
    """Each error of ``err`` (raised validating ``model``) as one sentence, in ``style``."""
    out: list[Issue] = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if p != "[key]")
        issue = Issue(loc, _sentence(e, loc, model, style))
        if issue not in out:
            out.append(issue)
    return out


_TYPES = {
    "string_type": "应是字符串",
    "string_too_short": "应是非空字符串",
    "list_type": "应是列表",
    "tuple_type": "应是列表",
    "dict_type": "应是映射（key: value）",
    "bool_type": "应是 true 或 false",
    "bool_parsing": "应是 true 或 false",
    "int_type": "应是整数",
    "int_parsing": "应是整数",
    "int_from_float": "应是整数",
    "float_type": "应是数字",
    "float_parsing": "应是数字",
}
_MAPPING_TYPES = ("model_type", "model_attributes_type", "dataclass_type")


def _sentence(e: Any, loc: Loc, model: type[BaseModel], style: Style) -> str:
    kind, ctx = e["type"], e.get("ctx") or {}
    if kind == WHOLE:
        return ctx["text"]
    here = style.label(loc)
    if kind == AT:
        return f"{here} {ctx['text']}" if here else ctx["text"]
    if kind in ("extra_forbidden", "missing") and loc:
        parent, name = style.label(loc[:-1]), style.quote(str(loc[-1]))
        if kind == "extra_forbidden":
            fields = ", ".join(_fields(_walk(model, loc[:-1])[0]))
            if parent:
                return f"{parent} 有未知字段{name}（可用：{fields}）"
            return f"未知字段{name}（可用字段：{fields}）"
        info = _walk(model, loc)[1]
        why = f"（{info.description}）" if info is not None and info.description else ""
        return f"{parent} 缺少字段{name}{why}" if parent else f"缺少字段{name}{why}"
    if kind in _MAPPING_TYPES and not loc:
        return style.root
    tp, info = _walk(model, loc)
    what = _what(kind, ctx, e, tp, info if loc and isinstance(loc[-1], str) else None)
    return f"{here} {what}" if here else what


def _what(kind: str, ctx: dict, e: Any, tp: Any, info: FieldInfo | None) -> str:
    if kind == "literal_error":
        options = _literal(tp)
        shown = " 或 ".join(str(o) for o in options) if options else ctx.get("expected", "")
        return f"应是 {shown}，而不是 {e['input']!r}"
    if kind in _MAPPING_TYPES:
        return f"应是映射（可用字段：{', '.join(_fields(tp))}）"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length', 1)} 项"
    if kind == "greater_than":
        return f"应是大于 {ctx['gt']} 的整数"
    if kind == "greater_than_equal":
        return f"应是不小于 {ctx['ge']} 的整数"
    what = _TYPES.get(kind)
    if what is None:
        return f"不合要求（{e['msg']}）"
    if info is not None and type(None) in get_args(info.annotation):
        what += "或 null"
    return what


def _unwrap(tp: Any) -> Any:
    """``tp`` without Annotated and Optional (a union of models: the first model)."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            models = [a for a in args if _is_model(a)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _walk(model: type[BaseModel], loc: Loc) -> tuple[Any, FieldInfo | None]:
    """The type at ``loc`` inside ``model`` and the field it last passed through."""
    tp: Any = model
    info: FieldInfo | None = None
    for part in loc:
        tp = _unwrap(tp)
        origin = get_origin(tp)
        if _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
            info = tp.model_fields[part]
            tp = info.annotation
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            tp = (get_args(tp) or (Any,))[0]
        elif origin is dict:
            tp = (get_args(tp) or (Any, Any))[-1]
        else:
            return None, info
    return _unwrap(tp), info


def _fields(tp: Any) -> list[str]:
    tp = _unwrap(tp)
    return list(tp.model_fields) if _is_model(tp) else []


def _literal(tp: Any) -> tuple:
    tp = _unwrap(tp)
    return get_args(tp) if get_origin(tp) is Literal else ()


# --------------------------------------------------------------------------- YAML lines


def yaml_lines(text: str) -> Callable[[Loc], int | None]:
    """The line (1-based) of the key or item at a location in the YAML ``text``.

    A location that is not in the file (a missing field) gets the line of the nearest
    enclosing key or item, and None at the top of the file.
    """
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        root = None

    def line(loc: Loc) -> int | None:
        node, found = root, None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        node, found = value, key.start_mark.line + 1
                        break
                else:
                    return found
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    return found
                node = node.value[part]
                found = node.start_mark.line + 1
            else:
                return found
        return found

    return line


# --------------------------------------------------------------------------- reply schemas


_META = ("title", "default", "description", "examples")


def strict_json_schema(model: type[BaseModel]) -> dict:
    """``model``'s JSON schema as OpenAI's strict json_schema mode takes it.

    References inlined, titles and defaults dropped, every object closed
    (``additionalProperties: false``) with every property required (defaults apply when a
    reply comes from a mode without a schema).
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, list):
            return [fix(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return fix(defs[node["$ref"].rsplit("/", 1)[-1]])
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _META:
                continue
            if key == "properties":
                out[key] = {name: fix(sub) for name, sub in value.items()}
            else:
                out[key] = fix(value)
        if out.get("type") == "object":
            out["additionalProperties"] = False
            out["required"] = list(out.get("properties", {}))
        return out

    return fix(schema)
