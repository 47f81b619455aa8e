"""One structured chat completion: format fallbacks, bounded retries, a response cache.

The reply format steps down json_schema → json_object → plain text (the JSON object is then
extracted from the text) whenever the endpoint refuses a format (HTTP 400/422). Transient
faults — timeout, connection refused, 429 (Retry-After honoured), 5xx, empty choices,
finish_reason "length", malformed JSON — are retried with backoff, up to
DRAFTER_LLM_RETRIES times and never beyond DRAFTER_LLM_TIMEOUT seconds in all; then
LLMError names the cause. The transports (transport.py, lc.py) only send; the response
cache is cache.py.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import hashlib
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from drafter.engines.llm import config, formats, prompts
from drafter.engines.llm.cache import ResponseCache, cache_key, for_call
from drafter.engines.llm.prompts import count_tokens, message_tokens
from drafter.engines.llm.transport import RawReply, Transport, make_transport
from drafter.errors import LLMError
from drafter.state import current
from drafter.types import Usage

MODES = ("json_schema", "json_object", "text")
BACKOFF_BASE = 0.25  # seconds; doubled per failure, capped
BACKOFF_CAP = 4.0
MIN_ATTEMPT_SECONDS = 0.05  # less time left than this: do not start another attempt
REASK_ECHO_CHARS = 4000  # of a failed answer sent back with the problem

CAUSES = {
    "timeout": "模型服务超时（timeout）",
    "connection": "无法连接模型服务（connection refused）",
    "rate_limit": "模型服务限流（HTTP 429）",
    "quota": "模型服务的额度已用完（HTTP 429 insufficient_quota）",
    "server": "模型服务出错（HTTP 5xx）",
    "empty": "模型没有返回内容（empty choices）",
    "length": "模型输出被截断（finish_reason length）",
    "malformed": "模型返回的不是有效的 JSON（malformed JSON）",
    "auth": "模型服务拒绝了密钥（HTTP 401/403）",
    "not_found": "模型服务找不到该模型或地址（HTTP 404）",
    "bad_request": "模型服务拒绝了请求（HTTP 400）",
    "bad_response": "模型服务的回答无法解析（bad response）",
    "replay_miss": "回放模式下没有录制的回复（replay miss）",
}


class ReplayMissError(LLMError):
    """Replay mode found no recorded reply for this prompt (no network is used in replay)."""


class StreamRestart:
    """Yielded by :func:`stream_json` when a failed attempt is retried: drop the text so far."""


RESTART = StreamRestart()


@dataclass
class ChatReply:
    content: str
    data: dict
    model: str
    finish_reason: str
    usage: Usage  # tokens of every attempt; latency = wall time of the whole call
    attempts: int
    mode: str  # the reply format that worked
    cached: bool = False
    failures: list[str] = field(default_factory=list)  # causes of the retried attempts


# -- reply formats and JSON ------------------------------------------------------------
def response_format(mode: str, schema: dict, name: str) -> dict | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "strict": True, "schema": schema},
        }
    if mode == "json_object":
        return {"type": "json_object"}
    return None


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
# A reasoning model's thoughts before its answer (DeepSeek-R1, Qwen3): never the answer.
_THINK = re.compile(r"<think>.*?</think>|^.*?</think>", re.DOTALL)
MAX_REPLY_CHARS = 200_000  # a reply longer than this is not a rewrite of a draft


def extract_json(text: str | None) -> dict | None:
    """The JSON object in ``text``, in linear time.

    Reasoning (``<think>…</think>``) is dropped; the object may stand alone, sit in a fenced
    block or among prose, and have the defects models make (trailing commas, single quotes,
    comments), which json-repair mends. A reply that is cut off (no closing brace), too long,
    or nested beyond reason is no object: None. A single-key wrapper around the object
    (``{"result": {...}}``) is taken off.
    """
    if not text or len(text) > MAX_REPLY_CHARS:
        return None
    text = _THINK.sub("", text).strip()
    if text.startswith('"'):  # the object sent as a JSON string of itself (double-encoded)
        try:
            inner = json.loads(text)
        except ValueError:
            inner = None
        if isinstance(inner, str):
            text = inner.strip()
    fenced = [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in [*fenced, text]:
        data = _object_in(candidate)
        if data is not None:
            return _unwrapped(data)
    return None


def _object_in(text: str) -> dict | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None  # no object, or one that was cut off before its closing brace
    body = text[start : end + 1]
    try:
        data = json.loads(body)
    except ValueError:
        import json_repair  # mends what models get wrong; imported only when needed

        try:
            data = json_repair.loads(body)
        except (ValueError, RecursionError, TypeError):
            return None
    return data if isinstance(data, dict) and data else None


def _unwrapped(data: dict) -> dict:
    while len(data) == 1:
        (inner,) = data.values()
        if not isinstance(inner, dict) or not inner:
            break
        data = inner
    return data


# -- errors ----------------------------------------------------------------------------
@dataclass
class _Fault:
    cause: str
    retry: bool
    retry_after: float | None = None
    format_refused: bool = False  # the endpoint does not take this reply format


def retry_after_seconds(headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class WallClockTimeout(Exception):
    """The call ran past DRAFTER_LLM_TIMEOUT by the wall clock (a trickling or huge answer)."""


_FORMAT_WORDS = ("response_format", "json_schema", "grammar", "schema")


def _about_format(err: Exception) -> bool:
    """Whether an error answer concerns the reply format (older llama.cpp: a 500 on schemas)."""
    text = str(getattr(err, "message", "") or err).lower()
    return any(word in text for word in _FORMAT_WORDS)


def classify(err: Exception) -> _Fault | None:
    """What a client exception means for the retry loop; None = not a model fault (re-raise)."""
    import openai

    if isinstance(err, WallClockTimeout):
        return _Fault("timeout", True)
    if isinstance(err, openai.APITimeoutError):
        return _Fault("timeout", True)
    if isinstance(err, openai.APIConnectionError):
        return _Fault("connection", True)
    if isinstance(err, openai.LengthFinishReasonError):  # langchain's parse() path
        return _Fault("length", True)
    if isinstance(err, openai.RateLimitError):
        if err.code == "insufficient_quota":
            return _Fault("quota", False)
        return _Fault("rate_limit", True, retry_after_seconds(err.response.headers))
    if isinstance(err, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return _Fault("auth", False)
    if isinstance(err, openai.NotFoundError):
        return _Fault("not_found", False)
    if isinstance(err, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return _Fault("bad_request", False, format_refused=True)
    if isinstance(err, openai.APIStatusError):
        if err.status_code >= 500:
            refused = _about_format(err)  # then the next rung is tried at once
            return _Fault(
                "server", True, retry_after_seconds(err.response.headers), format_refused=refused
            )
        return _Fault("bad_request", False)
    if isinstance(err, openai.APIError):
        return _Fault("bad_response", True)
    return None


def _error(
    cause: str,
    attempts: int,
    last_output: str = "",
    cls: type[LLMError] = LLMError,
    detail: str = "",
) -> LLMError:
    what = CAUSES.get(cause, cause)
    tail = f"（{detail}）" if detail else ""
    return cls(
        f"{what}{tail}，共尝试 {attempts} 次。",
        cause=cause,
        attempts=attempts,
        last_output=last_output,
    )


def backoff(failures: int) -> float:
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1))


def _config(model: str | None, replay: bool) -> config.LLMConfig:
    """The configuration; replay needs only a model name (it never reaches the network)."""
    if replay:
        cfg_model = model or current().settings.llm_model
        if not cfg_model:
            config.load()  # raises NotConfiguredError naming the variables
        return config.LLMConfig(cfg_model, "", "", 0.1, 0, "openai")
    cfg = config.load()
    if model:
        cfg = dataclasses.replace(cfg, model=model)
    return cfg


# -- the call --------------------------------------------------------------------------
Validator = Callable[[dict], object]


@dataclass
class _Attempts:
    """State shared by the plain and the streaming loop."""

    cfg: config.LLMConfig
    messages: list[dict]
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    mode: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_output: str = ""
    problem: str = ""  # why the last answer failed validation ("" = it did not, or no answer)

    @property
    def deadline(self) -> float:
        return self.started + self.cfg.timeout

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def usage(self) -> Usage:
        return Usage(
            self.prompt_tokens,
            self.completion_tokens,
            round((time.monotonic() - self.started) * 1000, 2),
        )

    def count(self, raw: RawReply) -> None:
        self.prompt_tokens += (
            raw.prompt_tokens if raw.prompt_tokens is not None else message_tokens(self.messages)
        )
        self.completion_tokens += (
            raw.completion_tokens
            if raw.completion_tokens is not None
            else count_tokens(raw.content or "")
        )

    def count_error(self, err: Exception) -> None:
        """Tokens a failed request still used (a reply cut at the length limit has usage)."""
        usage = getattr(getattr(err, "completion", None), "usage", None)
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0

    def error(self, cause: str, detail: str = "") -> LLMError:
        """The LLMError ending this call; ``.usage`` says what the failed attempts cost."""
        err = _error(cause, self.attempts, self.last_output, detail=detail)
        err.usage = self.usage()  # type: ignore[attr-defined]
        err.failures = list(self.failures)  # type: ignore[attr-defined]
        return err

    def fail(self, fault: _Fault) -> float:
        """Record a failed attempt; the seconds to wait before the next, or raise LLMError."""
        if fault.format_refused and self.mode < len(MODES) - 1:
            self.mode += 1  # a refused reply format is not a failure: step down and resend
            return 0.0
        self.failures.append(fault.cause)
        if not fault.retry or len(self.failures) > self.cfg.retries:
            raise self.error(fault.cause)
        wait = fault.retry_after if fault.retry_after is not None else backoff(len(self.failures))
        left = self.remaining()
        if wait >= left - MIN_ATTEMPT_SECONDS:
            detail = (
                f"Retry-After {fault.retry_after:g} 秒超过剩余时间" if fault.retry_after else ""
            )
            raise self.error(fault.cause, detail)
        return wait

    def next_timeout(self) -> float:
        left = self.remaining()
        if left < MIN_ATTEMPT_SECONDS:
            cause = self.failures[-1] if self.failures else "timeout"
            raise self.error(cause, f"超过 DRAFTER_LLM_TIMEOUT={self.cfg.timeout:g} 秒")
        self.attempts += 1
        return left

    def __post_init__(self) -> None:
        # Start on the reply format this endpoint is known to take (a replay never gets here).
        self.mode = formats.remembered(self.cfg, MODES)

    def reply(self, raw: RawReply, data: dict) -> ChatReply:
        """The answer of a successful attempt; the format that worked is remembered."""
        formats.remember(self.cfg, MODES[self.mode])
        return ChatReply(
            raw.content or "",
            data,
            raw.model or self.cfg.model,
            raw.finish_reason or "stop",
            self.usage(),
            self.attempts,
            MODES[self.mode],
            failures=list(self.failures),
        )

    def judge(self, raw: RawReply, validate: Validator | None) -> tuple[dict | None, _Fault | None]:
        """The parsed reply, or the fault that makes it unusable (``problem`` says which)."""
        self.last_output = raw.content or ""
        self.problem = ""
        if raw.empty:
            return None, _Fault("empty", True)
        if raw.finish_reason == "length":
            return None, _Fault("length", True)
        data = extract_json(raw.content)
        if data is None:
            if not (raw.content or "").strip():
                return None, _Fault("empty", True)
            self.problem = "回答里没有完整的 JSON 对象。"
            return None, _Fault("malformed", True)
        if validate is not None:
            try:
                validate(data)
            except (ValueError, TypeError, KeyError) as err:
                self.problem = str(err) or type(err).__name__
                return None, _Fault("malformed", True)
        return data, None

    def next_messages(self) -> list[dict]:
        """What the next attempt sends: after an answer that failed validation, that answer and
        the precise problem (as instructor does), so the model can mend it; else the same."""
        if not self.problem or not self.last_output.strip():
            return self.messages
        try:
            reask = prompts.load("reask.user").render({"problem": self.problem})
        except prompts.PromptError:
            return self.messages
        previous = self.last_output[:REASK_ECHO_CHARS]
        return [
            *self.messages,
            {"role": "assistant", "content": previous},
            {"role": "user", "content": reask},
        ]


def _hit(record: dict, started: float, validate: Validator | None) -> ChatReply | None:
    data = extract_json(record["content"])
    if data is None:
        return None
    if validate is not None:
        try:
            validate(data)
        except (ValueError, TypeError, KeyError):
            return None
    u = record.get("usage") or {}
    return ChatReply(
        record["content"],
        data,
        record.get("model", ""),
        record.get("finish_reason") or "stop",
        Usage(
            int(u.get("prompt_tokens", 0)),
            int(u.get("completion_tokens", 0)),
            round((time.monotonic() - started) * 1000, 2),
        ),
        0,
        record.get("mode", "cache"),
        cached=True,
    )


def _record(reply: ChatReply, key: str, messages: list[dict]) -> dict:
    return {
        "key": key,
        "model": reply.model,
        "mode": reply.mode,
        "finish_reason": reply.finish_reason,
        "content": reply.content,
        "usage": {
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
        },
        "prompt_sha256": hashlib.sha256(
            json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()
        ).hexdigest(),
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _lookup(
    cfg: config.LLMConfig,
    messages: list[dict],
    schema: dict,
    name: str,
    cache: bool | None,
    cache_dir: Path | None,
    replay: bool,
    validate: Validator | None,
) -> tuple[ResponseCache | None, str, ChatReply | None]:
    started = time.monotonic()
    store = for_call(cache, cache_dir, replay)
    key = cache_key(cfg.model, messages, schema, name)
    if store is not None:
        record = store.get(key)
        if record is not None:
            hit = _hit(record, started, validate)
            if hit is not None:
                return store, key, hit
    if replay:
        where = store.path(key) if store else key
        raise _error(
            "replay_miss", 0, cls=ReplayMissError, detail=f"{where}；请先在录制模式下运行"
        ) from None
    return store, key, None


def complete_json(
    messages: list[dict],
    schema: dict,
    *,
    name: str = "reply",
    validate: Validator | None = None,
    model: str | None = None,
    cache: bool | None = None,
    cache_dir: Path | None = None,
    replay: bool = False,
    transport: Transport | None = None,
    max_tokens: int | None = None,
    timeout: float | None = None,
    retries: int | None = None,
) -> ChatReply:
    """One chat completion whose reply is a JSON object (validated by ``validate``);
    ``timeout`` and ``retries`` replace the engine's (DRAFTER_LLM_TIMEOUT, _RETRIES)."""
    cfg = _config(model, replay)
    if timeout is not None or retries is not None:
        cfg = dataclasses.replace(
            cfg,
            timeout=cfg.timeout if timeout is None else max(0.1, timeout),
            retries=cfg.retries if retries is None else max(0, retries),
        )
    store, key, hit = _lookup(cfg, messages, schema, name, cache, cache_dir, replay, validate)
    if hit is not None:
        return hit
    transport = transport or make_transport(cfg)
    state = _Attempts(cfg, messages)
    while True:
        timeout = state.next_timeout()
        fmt = response_format(MODES[state.mode], schema, name)
        try:
            sent = state.next_messages()
            request = functools.partial(transport.create, sent, fmt, timeout, max_tokens)
            raw = _bounded(request, timeout)
        except Exception as err:
            fault = classify(err)
            if fault is None:
                raise
            state.count_error(err)
            time.sleep(state.fail(fault))
            continue
        state.count(raw)
        data, fault = state.judge(raw, validate)
        if fault is not None:
            time.sleep(state.fail(fault))
            continue
        assert data is not None  # judge returns the data whenever there is no fault
        reply = state.reply(raw, data)
        if store is not None:
            store.put(key, _record(reply, key, messages))
        return reply


def stream_json(
    messages: list[dict],
    schema: dict,
    *,
    name: str = "reply",
    validate: Validator | None = None,
    model: str | None = None,
    cache: bool | None = None,
    cache_dir: Path | None = None,
    replay: bool = False,
    transport: Transport | None = None,
    max_tokens: int | None = None,
) -> Iterator[str | StreamRestart | ChatReply]:
    """Like :func:`complete_json`, streaming: text deltas as they arrive, :data:`RESTART`
    when a failed attempt is retried, and last the :class:`ChatReply` (or LLMError)."""
    cfg = _config(model, replay)
    store, key, hit = _lookup(cfg, messages, schema, name, cache, cache_dir, replay, validate)
    if hit is not None:
        yield hit.content
        yield hit
        return
    transport = transport or make_transport(cfg)
    state = _Attempts(cfg, messages)
    while True:
        timeout = state.next_timeout()
        fmt = response_format(MODES[state.mode], schema, name)
        raw: RawReply | None = None
        fault: _Fault | None
        sent = False
        items = _bounded_stream(
            transport.stream(state.next_messages(), fmt, timeout, max_tokens), state.deadline
        )
        try:
            for item in items:
                if isinstance(item, RawReply):
                    raw = item
                    break
                sent = True
                yield item
                if state.remaining() <= 0:
                    raise _StreamTimeout
        except _StreamTimeout:
            fault = _Fault("timeout", True)
        except Exception as err:
            fault = classify(err)
            if fault is None:
                raise
            state.count_error(err)
        else:
            fault = None
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # ends the HTTP stream of an abandoned attempt
        if fault is None:
            if raw is None:
                raw = RawReply(None, None, empty=True)
            state.count(raw)
            data, fault = state.judge(raw, validate)
        if fault is not None:
            if sent:
                yield RESTART
            time.sleep(state.fail(fault))
            continue
        assert raw is not None and data is not None  # both are set whenever there is no fault
        reply = state.reply(raw, data)
        if store is not None:
            store.put(key, _record(reply, key, messages))
        yield reply
        return


def _bounded(fn: Callable[[], RawReply], seconds: float) -> RawReply:
    """``fn()``, or WallClockTimeout after ``seconds`` by the wall clock.

    The client's own timeout bounds each read, not the whole answer: a server that trickles a
    byte at a time, or sends megabytes, keeps a read alive for minutes. The request runs in a
    daemon thread; past the deadline the caller moves on (the thread ends with its socket).
    """
    box: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 -- handed to the caller below
            box["error"] = err
        finally:
            done.set()

    threading.Thread(target=run, name="drafter-llm-request", daemon=True).start()
    if not done.wait(max(0.0, seconds)):
        raise WallClockTimeout
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _bounded_stream(items: Iterator[str | RawReply], deadline: float) -> Iterator[str | RawReply]:
    """The items of a stream, read in a daemon thread; WallClockTimeout at ``deadline``
    (time.monotonic) even when the server sends nothing the client can hand on."""
    feed: queue.Queue[tuple[str, object]] = queue.Queue()

    def run() -> None:
        try:
            for item in items:
                feed.put(("item", item))
            feed.put(("end", None))
        except BaseException as err:  # noqa: BLE001 -- handed to the reader below
            feed.put(("error", err))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    threading.Thread(target=run, name="drafter-llm-stream", daemon=True).start()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise WallClockTimeout
        try:
            kind, value = feed.get(timeout=left)
        except queue.Empty:
            raise WallClockTimeout from None
        if kind == "end":
            return
        if kind == "error":
            raise value  # type: ignore[misc]
        yield value  # type: ignore[misc]


class _StreamTimeout(Exception):
    """The stream went on past the total time allowed."""
