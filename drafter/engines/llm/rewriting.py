"""The LLM rewrite engine: prompt, one structured call, validation — or the offline result.

Whatever happens the agent gets a RewriteResult: the model's validated rewrite (engine
``llm:<model>``), or the offline engine's result with a warning naming why (engine
``offline``). Only a replay miss (evals) and a missing configuration raise.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from drafter.engines.llm import call, guard, prompts, validate
from drafter.engines.llm.align import align
from drafter.engines.llm.prompts import PromptError
from drafter.engines.llm.validate import REWRITE_SCHEMA, Rejected
from drafter.errors import DrafterError, InputError, LLMError, NotConfiguredError
from drafter.knowledge.corpus import get_corpus
from drafter.rules.engine import rewrite_offline
from drafter.state import current
from drafter.text.decode import check_text
from drafter.types import Change, Flag, Passage, RewriteResult, Usage

SCHEMA_NAME = "rewrite"
RETRIEVAL_K = 4
QUERY_CHARS = 500
HINT_SUGGESTION_CHARS = 24  # longer suggestions cost more prompt than they help


@dataclass
class Prepared:
    text: str
    offline: RewriteResult
    prompt: prompts.RenderedPrompt


# The answer is the rewritten draft in a small JSON object: about as long as the draft.
ANSWER_TOKENS_RATIO = 1.5
ANSWER_TOKENS_SLACK = 200  # the JSON frame, escapes, a sentence of preamble


def answer_tokens(text: str) -> int:
    """``max_tokens`` for rewriting ``text``: 1.5× its tokens plus a small constant."""
    return int(prompts.count_tokens(text) * ANSWER_TOKENS_RATIO) + ANSWER_TOKENS_SLACK


def offline_rewrite(text: str) -> RewriteResult:

    return rewrite_offline(text)


def gather_passages(text: str, offline: RewriteResult) -> list[Passage]:
    """The passages grounding the rules that fired, then the best retrieval hits."""
    from drafter.retrieval.hybrid import search

    corpus = get_corpus()
    out: list[Passage] = []
    seen: set[str] = set()
    items: list[Change | Flag] = [*offline.changes, *offline.flags]
    for item in items:
        c = item.citation
        if c is not None and c.passage_id not in seen and c.passage_id in corpus.by_id:
            seen.add(c.passage_id)
            out.append(corpus.by_id[c.passage_id])
    try:
        hits = search(text[:QUERY_CHARS], k=RETRIEVAL_K)
    except DrafterError:
        hits = []  # no index: the rules' own passages still ground the rewrite
    out.extend(p for p in hits if p.passage_id not in seen)
    return out


def hint_lines(offline: RewriteResult) -> str:
    """The offline engine's hits, one JSON object a line, for the prompt."""
    lines = [
        json.dumps({"rule": c.rule, "before": c.before, "after": c.after}, ensure_ascii=False)
        for c in offline.changes
    ]
    for f in offline.flags:  # the rule id says why; a short suggestion says how
        hint = {"rule": f.rule, "text": f.text}
        if f.suggestion and len(f.suggestion) <= HINT_SUGGESTION_CHARS:
            hint["suggest"] = f.suggestion
        lines.append(json.dumps(hint, ensure_ascii=False))
    lines = list(dict.fromkeys(lines))  # a repeated hit is one hint
    return "\n".join(lines) if lines else "[]"


def prepare(
    text: str,
    *,
    offline: RewriteResult | None = None,
    passages: list[Passage] | None = None,
    budget: int | None = None,
) -> Prepared:
    """Check the draft, run the offline engine, retrieve, and render the prompt."""
    check_text(text)
    offline = offline if offline is not None else offline_rewrite(text)
    if passages is None:
        passages = gather_passages(text, offline)
    prompt = prompts.build(
        "rewrite",
        data_key="draft",
        data=text.strip(),
        values={"hints": hint_lines(offline)},
        passages=passages,
        budget=budget,
    )
    return Prepared(text, offline, prompt)


def fallback(offline: RewriteResult, warning: str, usage: Usage | None = None) -> RewriteResult:
    """The offline result, with the reason the model's reply is not used."""
    return dataclasses.replace(offline, warnings=[*offline.warnings, warning], usage=usage)


def failure_warning(err: DrafterError) -> str:
    return f"模型调用失败，已改用离线引擎的结果：{err}"


def prompt_warning(err: DrafterError) -> str:
    return f"无法使用模型改写，已改用离线引擎的结果：{err}"


def model_name(model: str | None) -> str:
    return model or current().settings.llm_model


def same_frame(original: str, rewritten: str) -> str:
    """The model's text in the draft's own frame: its outer whitespace and line endings
    (the model sees the draft stripped; a lost final newline is not a change to show)."""
    core = rewritten.strip()
    if "\r\n" in original:
        core = core.replace("\r\n", "\n").replace("\n", "\r\n")
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return lead + core + trail


def finish(prep: Prepared, reply: call.ChatReply, model: str) -> RewriteResult:
    """Validate the model's reply (validate.py) into the RewriteResult the agent sees."""
    text = prep.text
    facts = validate.facts_of(text)
    try:
        parsed = validate.parse_rewrite(reply.data)
        candidate = same_frame(text, parsed.rewritten)
        validate.check_facts(facts, candidate)
        if guard.cut_off(text, candidate):
            raise Rejected(
                "模型的回答比草稿短得多（被截断或删掉了内容），已改用离线引擎的结果（truncated answer）。",
                "truncated",
            )
        # A flagged phrase, or a why-question the rules rephrase, may be turned around by a
        # good rewrite (你为什么没注意看协议呢？ → 这一点在协议里有说明。): there a negation
        # may go; nothing may be added anywhere.
        loose = [(f.start, f.end) for f in prep.offline.flags] + [
            (c.start, c.end) for c in prep.offline.changes if c.rule in guard.REPHRASED
        ]
        validate.check_scope(text, candidate, facts, loose)
        # Edits that change what the draft says (a number, a promise, a flipped negation …)
        # go back to the draft's words; the tone edits stay.
        reviewed = guard.review(text, align(text, candidate), loose)
        candidate = reviewed.text
        fixed = validate.repair(candidate)
        final = fixed.rewritten
        validate.check_facts(facts, final)
    except Rejected as err:
        return fallback(prep.offline, str(err), reply.usage)
    warnings = [*reviewed.warnings(), *fixed.warnings]  # what was put back; the rules' notes
    if fixed.changes:
        rules = "、".join(sorted({c.rule for c in fixed.changes}))
        warnings.append(
            f"模型的改写里还有须按手册改的地方（{rules}），已由规则引擎补改 {len(fixed.changes)} 处"
            "（leftover targets repaired offline）。"
        )
    edits = align(text, final)
    built = validate.build_changes(
        text,
        edits,
        parsed.hints + validate.hints_of(fixed, "repair", exact=False),
        validate.hints_of(prep.offline, "offline", exact=True),
        prep.offline.flags,
    )
    if built.dropped_quotes:
        warnings.append(
            f"模型给出的 {built.dropped_quotes} 条引文在所注段落中找不到原文，已改用规则的依据或不附引文"
            "（unverified quotes dropped）。"
        )
    flags_final = validate.repair(final).flags if fixed.changes else fixed.flags
    kept, new = validate.map_flags(text, edits, flags_final)
    for f in new:
        warnings.append(f"模型改写中有须人工确认的说法：“{f.text}”（{f.message}）")
    engine = f"llm:{model}"
    return RewriteResult(text, final, engine, built.changes, kept, warnings, reply.usage)


def unexpected_warning(err: BaseException) -> str:
    """The warning for a failure nobody planned for: the agent still gets a result."""
    return (
        f"模型的回答无法处理（{type(err).__name__}），已改用离线引擎的结果（unexpected failure）。"
    )


# Raised on purpose and meant for the caller: a bad draft, a missing configuration, a replay
# miss of the eval harness. Every other exception of the LLM path ends in the offline result.
PASS_THROUGH: tuple[type[BaseException], ...] = (
    call.ReplayMissError,
    InputError,
    NotConfiguredError,
    KeyboardInterrupt,
)


def request_options(
    text: str, model: str | None, cache: bool | None, cache_dir: Path | None, replay: bool
) -> dict:
    """The options of the one request a rewrite makes, streamed or not."""
    return {
        "name": SCHEMA_NAME,
        "validate": validate.parse_rewrite,
        "model": model,
        "cache": cache,
        "cache_dir": cache_dir,
        "replay": replay,
        "max_tokens": answer_tokens(text),
    }


def rewrite_with_llm(
    text: str,
    *,
    offline: RewriteResult | None = None,
    passages: list[Passage] | None = None,
    model: str | None = None,
    cache: bool | None = None,
    cache_dir: Path | None = None,
    replay: bool = False,
) -> RewriteResult:
    """Rewrite ``text`` with the configured model, validated; the offline result on failure.

    ``cache``/``cache_dir``/``replay`` are for the eval harness (see call.complete_json).
    """
    offline = offline if offline is not None else offline_rewrite(text)
    try:
        try:
            prep = prepare(text, offline=offline, passages=passages)
        except PromptError as err:  # a broken prompt file: the agent still gets the offline result
            return fallback(offline, prompt_warning(err))
        try:
            reply = call.complete_json(
                prep.prompt.messages,
                REWRITE_SCHEMA,
                **request_options(text, model, cache, cache_dir, replay),
            )
        except call.ReplayMissError:
            raise
        except LLMError as err:
            return fallback(prep.offline, failure_warning(err), getattr(err, "usage", None))
        return finish(prep, reply, model_name(model))
    except PASS_THROUGH:
        raise
    except Exception as err:  # noqa: BLE001 -- an HTML page, bad UTF-8, a bug: never a traceback
        return fallback(offline, unexpected_warning(err))


_FIELD = re.compile(r'"rewritten"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def partial_rewritten(buffer: str) -> str | None:
    """The ``rewritten`` string of a JSON reply still arriving, decoded as far as it goes."""
    m = _FIELD.search(buffer)
    if m is None:
        return None
    out: list[str] = []
    i = m.end()
    while i < len(buffer):
        ch = buffer[i]
        if ch == '"':
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(buffer):
            break  # an escape cut in two: wait for the rest
        code = buffer[i + 1]
        if code == "u":
            digits = buffer[i + 2 : i + 6]
            if len(digits) < 4:
                break
            try:
                out.append(chr(int(digits, 16)))
            except ValueError:
                break
            i += 6
            continue
        out.append(_ESCAPES.get(code, code))
        i += 2
    text = "".join(out)
    # A surrogate pair split across chunks: keep the high half back until its partner comes.
    if text and "\ud800" <= text[-1] <= "\udbff":
        text = text[:-1]
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def stream_rewrite(
    text: str,
    *,
    offline: RewriteResult | None = None,
    passages: list[Passage] | None = None,
    model: str | None = None,
    cache: bool | None = None,
    cache_dir: Path | None = None,
    replay: bool = False,
) -> Iterator[str | RewriteResult]:
    """For the UI: the rewrite so far (whole text each time) as the model writes it, then
    the validated RewriteResult, which replaces what was shown."""
    offline = offline if offline is not None else offline_rewrite(text)
    try:
        try:
            prep = prepare(text, offline=offline, passages=passages)
        except PromptError as err:
            yield fallback(offline, prompt_warning(err))
            return
        buffer = ""
        shown = ""
        try:
            for item in call.stream_json(
                prep.prompt.messages,
                REWRITE_SCHEMA,
                **request_options(text, model, cache, cache_dir, replay),
            ):
                if isinstance(item, call.ChatReply):
                    yield finish(prep, item, model_name(model))
                    return
                if isinstance(item, call.StreamRestart):
                    buffer = shown = ""
                    continue
                buffer += item
                partial = partial_rewritten(buffer)
                if partial and partial != shown:
                    shown = partial
                    yield partial
        except call.ReplayMissError:
            raise
        except LLMError as err:
            yield fallback(prep.offline, failure_warning(err), getattr(err, "usage", None))
    except PASS_THROUGH:
        raise
    except Exception as err:  # noqa: BLE001 -- never a traceback: the offline result, saying why
        yield fallback(offline, unexpected_warning(err))
