"""Faults of the model endpoint: bounded retries, then the offline result with a warning.

Each scenario runs through the raw openai client and through langchain's ChatOpenAI, over
real HTTP to the fake server. DRAFTER_LLM_TIMEOUT is 2 s here (conftest_llm.py).
"""

from __future__ import annotations

import time

import pytest
from conftest_llm import TIMEOUT
from fake_openai import MODEL, Reply, closed_port, completion, error, ok

from drafter.engines import registry as engines
from drafter.engines.llm import call, rewriting
from drafter.rules.engine import rewrite_offline as offline_rewrite

DRAFT = "你好，你的订单12345可能是物流延误了。你为什么不早点联系我们？"
GOOD = {
    "rewritten": "您好，您的订单12345是物流延误了。是什么原因让您没有早点联系我们？",
    "changes": [],
}
NOT_JSON = "好的，我来改写：您好，您的订单12345是物流延误了。"

# scenario -> (scripted replies, words the warning must contain, requests expected)
FAILURES = {
    "500": ([error(500)] * 3, "5xx", 3),
    "502 then 503": ([error(502), error(503), error(503)], "5xx", 3),
    "empty choices": ([Reply(200, completion(None, choices=False))] * 3, "empty choices", 3),
    "truncated": ([ok('{"rewritten": "您好，您的', finish_reason="length")] * 3, "截断", 3),
    "not JSON": ([ok(NOT_JSON)] * 3, "JSON", 3),
    "JSON of the wrong shape": ([ok({"text": "您好"})] * 3, "JSON", 3),
    "401": ([error(401, "bad key")], "密钥", 1),
    "404": ([error(404, "no such model")], "404", 1),
    "429 quota": (
        [Reply(429, {"error": {"message": "quota", "code": "insufficient_quota"}})],
        "额度",
        1,
    ),
}

pytest_plugins = ["conftest_llm"]  # fixtures: fake_llm, any_client, configure_llm


@pytest.mark.parametrize("scenario", FAILURES)
def test_a_failing_endpoint_falls_back_to_offline_with_the_cause(any_client, scenario):
    replies, words, expected = FAILURES[scenario]
    any_client.push(*replies)
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine == "offline"
    assert r.original == DRAFT and r.rewritten == offline_rewrite(DRAFT).rewritten  # never lost
    assert any(words in w and "离线" in w for w in r.warnings), r.warnings
    assert len(any_client.chat_requests) == expected


@pytest.mark.parametrize(
    "first, answered",
    [
        (error(500), 1),
        (error(503), 1),
        (ok(NOT_JSON), 2),
        (ok('{"rewritten": "您', finish_reason="length"), 2),
        (Reply(200, completion(None, choices=False)), 2),
    ],
    ids=["500", "503", "not JSON", "truncated", "empty"],
)
def test_one_transient_fault_is_retried(any_client, first, answered):
    any_client.push(first, ok(GOOD))
    r = rewriting.rewrite_with_llm(DRAFT)
    assert r.engine == f"llm:{MODEL}" and r.rewritten == GOOD["rewritten"]
    assert len(any_client.chat_requests) == 2
    assert r.usage.prompt_tokens == 100 * answered  # tokens of every answered attempt count


def test_429_honours_retry_after(any_client):
    any_client.push(error(429, "slow down", headers={"Retry-After": "0.5"}), ok(GOOD))
    t = time.monotonic()
    r = rewriting.rewrite_with_llm(DRAFT)
    elapsed = time.monotonic() - t
    assert r.engine == f"llm:{MODEL}"
    assert 0.5 <= elapsed < 1.5


def test_429_asking_for_longer_than_the_time_left_gives_up_at_once(any_client):
    any_client.push(error(429, "slow down", headers={"Retry-After": "30"}))
    t = time.monotonic()
    r = rewriting.rewrite_with_llm(DRAFT)
    assert time.monotonic() - t < 0.5
    assert r.engine == "offline" and any("429" in w and "Retry-After" in w for w in r.warnings)


def test_retry_after_forms():
    assert call.retry_after_seconds({"retry-after": "2"}) == 2.0
    assert call.retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert call.retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert call.retry_after_seconds({"retry-after": "soon"}) is None
    assert call.retry_after_seconds({}) is None


def test_a_slow_reply_past_the_timeout_falls_back_in_time(any_client, monkeypatch):
    monkeypatch.setenv("DRAFTER_LLM_TIMEOUT", "0.8")
    any_client.push(ok(GOOD, delay=5))
    t = time.monotonic()
    r = rewriting.rewrite_with_llm(DRAFT)
    elapsed = time.monotonic() - t
    assert r.engine == "offline" and any("超时" in w for w in r.warnings)
    assert elapsed < 1.4  # DRAFTER_LLM_TIMEOUT bounds every attempt together


def test_slow_failures_stop_at_the_total_time(fake_llm, monkeypatch):
    monkeypatch.setenv("DRAFTER_LLM_RETRIES", "10")
    monkeypatch.setenv("DRAFTER_LLM_TIMEOUT", "1")
    fake_llm.push(*[error(500, delay=0.3)] * 10)
    t = time.monotonic()
    r = rewriting.rewrite_with_llm(DRAFT)
    elapsed = time.monotonic() - t
    assert r.engine == "offline" and elapsed < 1.5
    assert 2 <= len(fake_llm.chat_requests) <= 4


def test_connection_refused_falls_back_quickly(configure_llm):
    configure_llm(f"http://127.0.0.1:{closed_port()}/v1")
    t = time.monotonic()
    r = engines.rewrite(DRAFT, engine="auto")
    assert time.monotonic() - t < 2.6
    assert r.engine == "offline" and any("无法连接" in w for w in r.warnings)
    assert r.rewritten == offline_rewrite(DRAFT).rewritten


def test_connection_refused_through_langchain(configure_llm):
    configure_llm(f"http://127.0.0.1:{closed_port()}/v1", client="langchain")
    r = rewriting.rewrite_with_llm(DRAFT)
    assert r.engine == "offline" and any("无法连接" in w for w in r.warnings)


def test_retries_setting_bounds_the_attempts(fake_llm, monkeypatch):
    monkeypatch.setenv("DRAFTER_LLM_RETRIES", "0")
    fake_llm.push(error(500), ok(GOOD))
    r = rewriting.rewrite_with_llm(DRAFT)
    assert r.engine == "offline" and len(fake_llm.chat_requests) == 1


def test_streaming_a_slow_reply_falls_back_in_time(any_client, monkeypatch):
    monkeypatch.setenv("DRAFTER_LLM_TIMEOUT", "0.8")
    any_client.push(ok(GOOD, delay=5))
    t = time.monotonic()
    items = list(rewriting.stream_rewrite(DRAFT))
    assert time.monotonic() - t < 1.4
    assert items[-1].engine == "offline" and any("超时" in w for w in items[-1].warnings)


def test_streaming_a_truncated_reply_is_retried(any_client):
    any_client.push(ok('{"rewritten": "您好，您的', finish_reason="length"), ok(GOOD))
    items = list(rewriting.stream_rewrite(DRAFT))
    assert items[-1].engine == f"llm:{MODEL}" and items[-1].rewritten == GOOD["rewritten"]
    # The text of the cut attempt was shown, then the good attempt's text replaced it.
    texts = [i for i in items if isinstance(i, str)]
    assert texts[-1] == GOOD["rewritten"]


def test_the_llm_error_carries_attempts_and_cause(fake_llm):
    fake_llm.push(*[ok(NOT_JSON)] * 3)
    with pytest.raises(call.LLMError) as err:
        call.complete_json([{"role": "user", "content": "x"}], {"type": "object"})
    assert err.value.cause == "malformed" and err.value.attempts == 3
    assert err.value.last_output == NOT_JSON
    assert "\n" not in str(err.value)


def test_a_fallback_still_reports_what_the_failed_attempts_cost(fake_llm):
    fake_llm.push(*[ok(NOT_JSON)] * 3)
    r = rewriting.rewrite_with_llm(DRAFT)
    assert r.engine == "offline"
    assert r.usage.prompt_tokens == 300 and r.usage.latency_ms > 0


# What real serving stacks send around a good answer: accepted, in one request.
GOOD_JSON = '{"rewritten": "您好，您的订单12345是物流延误了。是什么原因让您没有早点联系我们？", "changes": []}'
SHAPES = {
    "fenced, trailing comma": '```json\n{"rewritten": "'
    + GOOD["rewritten"]
    + '", "changes": [],}\n```',
    "reasoning first": "<think>用户要我把 {你} 改成您……</think>\n" + GOOD_JSON,
    "prose around": "好的，改写如下：\n" + GOOD_JSON + "\n如有需要请告诉我。",
    "single quotes": GOOD_JSON.replace('"', "'"),
    "wrapped": '{"result": ' + GOOD_JSON + "}",
    "changes as strings": '{"rewritten": "'
    + GOOD["rewritten"]
    + '", "changes": ["你好 → 您好", "称呼客户用您"]}',
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_good_answer_in_a_real_stacks_shape_is_accepted_at_once(any_client, shape):
    any_client.push(ok(SHAPES[shape]))
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine.startswith("llm:"), r.warnings
    assert r.rewritten == GOOD["rewritten"]
    assert len(any_client.chat_requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        '{"rewritten": "您好，您的订单12345是',  # cut off: no closing brace
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        '{"rewritten": "' + "您好" * 120_000 + '"}',  # far longer than any rewrite
        "好的" + "{" * 5000 + "}",  # nested beyond reason
    ],
    ids=["cut off", "HTML", "huge", "nested"],
)
def test_an_unusable_answer_ends_in_the_offline_result(fake_llm, body):
    fake_llm.push(*[ok(body)] * 3)
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine == "offline"
    assert r.rewritten == offline_rewrite(DRAFT).rewritten
    assert any("离线" in w for w in r.warnings), r.warnings


@pytest.mark.parametrize(
    "raw",
    [
        Reply(200, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}),
        Reply(200, b'{"id": "x", "choices": [{"message": {"content": "\xff\xfe"', {}),
        Reply(200, b"\xff\xfe\xfd not utf-8 at all", {"Content-Type": "application/json"}),
    ],
    ids=["HTML page, status 200", "truncated body", "invalid UTF-8"],
)
def test_a_broken_http_body_never_reaches_the_agent_as_a_traceback(any_client, raw):
    any_client.push(*[raw] * 3)
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine == "offline"
    assert r.rewritten == offline_rewrite(DRAFT).rewritten
    assert any("离线" in w for w in r.warnings), r.warnings


class _Trickle:
    """A server that answers 200 and then sends its body one byte every 0.2 s, for ever:
    every read succeeds, so only a wall-clock deadline ends the call."""

    def __init__(self, body: bytes, content_type: str) -> None:
        import http.server
        import threading

        stop = self.stop = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body) * 100))
                self.end_headers()
                for i in range(len(body) * 100):
                    if stop.wait(0.2):
                        return
                    try:
                        self.wfile.write(body[i % len(body) : i % len(body) + 1])
                        self.wfile.flush()
                    except OSError:
                        return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("client", ["openai", "langchain"])
def test_a_trickling_answer_is_cut_at_the_deadline(configure_llm, client):
    trickle = _Trickle(b'{"id": "x", "choices": [{"message": {"content": "', "application/json")
    try:
        configure_llm(trickle.base_url, client)
        started = time.monotonic()
        r = engines.rewrite(DRAFT, engine="llm")
        elapsed = time.monotonic() - started
    finally:
        trickle.close()
    assert r.engine == "offline" and r.rewritten == offline_rewrite(DRAFT).rewritten
    assert any("超时" in w for w in r.warnings), r.warnings
    assert elapsed < float(TIMEOUT) + 2, elapsed


def test_a_trickling_stream_is_cut_at_the_deadline(configure_llm):
    trickle = _Trickle(
        b'data: {"id": "x", "choices": [{"delta": {"content": "', "text/event-stream"
    )
    try:
        configure_llm(trickle.base_url)
        started = time.monotonic()
        *_shown, last = rewriting.stream_rewrite(DRAFT)
        elapsed = time.monotonic() - started
    finally:
        trickle.close()
    assert last.engine == "offline" and last.rewritten == offline_rewrite(DRAFT).rewritten
    assert elapsed < float(TIMEOUT) + 2, elapsed


def test_a_500_about_the_reply_format_steps_down_the_format_at_once(any_client):
    # older llama.cpp servers answer a json_schema request with a 500 naming it
    any_client.push(
        error(500, "Failed to parse grammar from response_format json_schema"), ok(GOOD)
    )
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine.startswith("llm:"), r.warnings
    first, second = any_client.chat_requests
    assert first["response_format"]["type"] == "json_schema"
    assert second.get("response_format", {}).get("type") != "json_schema"


def test_a_retry_after_a_bad_answer_sends_the_answer_and_its_problem(any_client):
    any_client.push(ok({"text": "您好"}), ok(GOOD))  # wrong shape, then a good answer
    r = engines.rewrite(DRAFT, engine="llm")
    assert r.engine.startswith("llm:"), r.warnings
    first, second = any_client.chat_requests
    assert second["messages"] != first["messages"]
    assert second["messages"][: len(first["messages"])] == first["messages"]
    echo, reask = second["messages"][len(first["messages"]) :]
    assert echo["role"] == "assistant" and '"text"' in echo["content"]
    assert reask["role"] == "user" and "rewritten" in reask["content"]  # names the problem


def test_a_transient_fault_resends_the_same_request(any_client):
    any_client.push(error(503), ok(GOOD))
    engines.rewrite(DRAFT, engine="llm")
    first, second = any_client.chat_requests
    assert first["messages"] == second["messages"]


def test_the_format_an_endpoint_takes_is_remembered_for_later_calls(any_client):
    any_client.push(error(400, "response_format json_schema is not supported"), ok(GOOD))
    assert engines.rewrite(DRAFT, engine="llm").engine.startswith("llm:")
    assert len(any_client.chat_requests) == 2
    any_client.push(ok(GOOD))
    assert engines.rewrite(DRAFT + "。", engine="llm").engine.startswith("llm:")
    assert len(any_client.chat_requests) == 3  # one request: it starts on the rung that works
    assert any_client.chat_requests[2].get("response_format", {}).get("type") == "json_object"
