"""The app's API through gradio_client against a server each module starts on loopback,
its login, its MCP tools, its safety settings, and the handlers behind the page."""

from __future__ import annotations

import ast
import asyncio
import base64
import re
import shutil
import warnings
from collections.abc import Iterator

import httpx
import pytest
from gradio_client import Client
from serving import start

from drafter import feedback, settings
from drafter.evaluation.suites import SUITES
from drafter.knowledge.corpus import get_corpus
from drafter.types import apply_changes, group_changes

DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？"
MESSAGE = "我的订单 2024052188 三天了还没发货，你们怎么回事？"
USER = ("agent", "s3cret:with-colon")

pytestmark = pytest.mark.slow
pytest_plugins = ["conftest_llm"]  # fake_llm


@pytest.fixture(autouse=True)
def own_feedback_store(tmp_path, monkeypatch):
    """Each test its own feedback store, even when DRAFTER_HOME is the shared index home."""
    monkeypatch.setenv("DRAFTER_FEEDBACK_DB", str(tmp_path / "feedback.db"))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple]:
    app, url = start()
    yield app, url
    app.close()


@pytest.fixture(scope="module")
def server(served) -> str:
    return served[1]


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server, verbose=False, download_files=False)


def assert_rewrite_contract(d: dict, text: str) -> None:
    assert set(d) >= {"original", "rewritten", "engine", "changes", "flags", "warnings"}
    assert d["original"] == text
    for c in d["changes"]:
        assert set(c) == {"rule", "start", "end", "before", "after", "explanation", "citation"}
        assert text[c["start"] : c["end"]] == c["before"]
    for f in d["flags"]:
        assert text[f["start"] : f["end"]] == f["text"]
    # Applying every change to the original yields exactly the rewrite.
    out, pos = [], 0
    for c in sorted(d["changes"], key=lambda c: c["start"]):
        out += [text[pos : c["start"]], c["after"]]
        pos = c["end"]
    assert "".join(out) + text[pos:] == d["rewritten"]
    corpus = get_corpus()
    for item in d["changes"] + d["flags"]:
        if item["citation"]:
            p = corpus.by_id[item["citation"]["passage_id"]]
            assert item["citation"]["quote"] in p.text


# ---------------------------------------------------------------- the named endpoints


def test_only_rewrite_and_draft_are_public(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/rewrite", "/draft"}
    assert not info["unnamed_endpoints"]
    params = [p["parameter_name"] for p in info["named_endpoints"]["/rewrite"]["parameters"]]
    assert params == ["text", "engine"]


def test_rewrite_takes_the_text_alone_and_returns_the_contract(client, indexed):
    d = client.predict(DRAFT, api_name="/rewrite")
    assert_rewrite_contract(d, DRAFT)
    assert d["engine"] == "offline" and d["rewritten"].startswith("您好，您的订单是明天到")
    assert {c["rule"] for c in d["changes"]} >= {"polite-pronoun", "definite", "what-not-why"}
    assert client.predict(DRAFT, "offline", api_name="/rewrite") == d


def test_draft_returns_the_contract(client, indexed):
    d = client.predict(MESSAGE, api_name="/draft")
    assert set(d) >= {
        "message",
        "reply",
        "channel",
        "engine",
        "situation",
        "facts",
        "citations",
        "placeholders",
        "warnings",
        "steps",
    }
    assert d["channel"] == "chat" and d["engine"] == "offline"
    assert "2024052188" in d["reply"]  # facts are repeated verbatim
    email = client.predict(MESSAGE, "email", api_name="/draft")
    assert email["channel"] == "email" and len(email["reply"]) > len(d["reply"])


@pytest.mark.parametrize(
    "args, api, words",
    [
        (("",), "/rewrite", "草稿是空的"),
        (("   \n",), "/rewrite", "草稿是空的"),
        ((DRAFT, "gpt"), "/rewrite", "引擎只能是"),
        ((DRAFT, "llm"), "/rewrite", "LLM 引擎未配置"),
        (("",), "/draft", "客户消息是空的"),
        ((MESSAGE, "fax"), "/draft", "渠道只能是"),
    ],
)
def test_bad_input_gets_one_sentence_not_a_traceback(client, args, api, words):
    with pytest.raises(Exception) as err:
        client.predict(*args, api_name=api)
    message = str(err.value)
    assert words in message and "Traceback" not in message


def test_length_is_checked():
    app, url = start(env={"DRAFTER_MAX_CHARS": "30"})  # the server's settings, read at start
    try:
        with pytest.raises(Exception, match="超过上限 30"):
            Client(url, verbose=False, download_files=False).predict(
                "你好" * 20, api_name="/rewrite"
            )
    finally:
        app.close()


# ---------------------------------------------------------------- safety settings


def test_server_settings(served):
    from drafter.web.server import MAX_FILE_SIZE

    app, server = served
    assert app.share is False and app.enable_monitoring is False and app.analytics_enabled is False
    base = server.rstrip("/")
    for path in ("/monitoring", "/monitoring/summary"):  # monitoring endpoint off
        assert httpx.get(base + path).status_code in (403, 404)
    # The queue is the only way in: the REST route that would skip it is closed.
    r = httpx.post(f"{base}/gradio_api/api/rewrite", json={"data": [DRAFT]})
    assert r.status_code >= 400
    config = httpx.get(f"{base}/config").json()
    assert config.get("analytics_enabled") is False
    assert config.get("max_file_size") == MAX_FILE_SIZE
    css = httpx.get(f"{base}/theme.css").text
    # Nothing fetched from elsewhere: no web fonts, no imported stylesheets.
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", css)


def test_upload_size_is_limited(server):
    from drafter.web.server import MAX_FILE_SIZE

    big = b"a" * (MAX_FILE_SIZE + 1)
    r = httpx.post(
        server.rstrip("/") + "/gradio_api/upload", files={"files": ("big.txt", big, "text/plain")}
    )
    assert r.status_code == 413


# ---------------------------------------------------------------- login (DRAFTER_AUTH)


@pytest.fixture(scope="module")
def auth_server() -> Iterator[str]:
    app, url = start(auth=f"{USER[0]}:{USER[1]},other:pw")
    yield url
    app.close()


def test_login_covers_every_route(auth_server, indexed):
    base = auth_server.rstrip("/")
    with pytest.raises(Exception, match="credentials|login|401"):
        Client(auth_server, verbose=False)
    assert httpx.get(f"{base}/config").status_code == 401
    assert httpx.get(f"{base}/gradio_api/info").status_code == 401
    r = httpx.post(f"{base}/gradio_api/call/rewrite", json={"data": [DRAFT, "auto"]})
    assert r.status_code == 401
    assert (
        httpx.post(
            f"{base}/gradio_api/upload", files={"files": ("a.txt", b"x", "text/plain")}
        ).status_code
        == 401
    )
    # The routes gradio itself leaves open are behind the login too.
    for path, body in [
        ("/gradio_api/cancel", {"session_hash": "x", "fn_index": 0, "event_id": "x"}),
        ("/gradio_api/reset", {"event_id": "x"}),
        ("/gradio_api/startup-events", None),
        ("/gradio_api/heartbeat/x", None),
        ("/gradio_api/queue/data?session_hash=x", None),
    ]:
        r = httpx.post(base + path, json=body) if body else httpx.get(base + path, timeout=5)
        assert r.status_code == 401, path
    # ... while the login page and what it is made of are not.
    assert httpx.get(f"{base}/").status_code == 200
    assert httpx.get(f"{base}/theme.css").status_code == 200
    with pytest.raises(Exception, match="(?i)login|credentials|incorrect|401"):
        Client(auth_server, auth=(USER[0], "wrong"), verbose=False)
    c = Client(auth_server, auth=USER, verbose=False)
    assert_rewrite_contract(c.predict(DRAFT, api_name="/rewrite"), DRAFT)


@pytest.mark.parametrize("value", ["nopassword", "user:", ":pw", "a:b,,"])
def test_malformed_auth_setting_is_refused(monkeypatch, value):
    from drafter.errors import DrafterError
    from drafter.web.server import auth_from_env

    monkeypatch.setenv("DRAFTER_AUTH", value)
    with pytest.raises(DrafterError, match="DRAFTER_AUTH"):
        auth_from_env()


# ---------------------------------------------------------------- MCP tools


async def _mcp(url: str, headers: dict | None = None) -> tuple[list[str], dict]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with (
        streamablehttp_client(url, headers=headers) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        result = await session.call_tool("rewrite", {"text": DRAFT})
        # Gradio's MCP server renders a dict result as Python literal text.
        return tools, ast.literal_eval(result.content[0].text)


def test_mcp_tools_behind_the_login(indexed):
    pytest.importorskip("mcp")
    app, url = start(auth=f"{USER[0]}:{USER[1]}", mcp=True)
    try:
        mcp_url = url.rstrip("/") + "/gradio_api/mcp/"
        assert httpx.post(mcp_url, json={}).status_code == 401
        assert httpx.get(url.rstrip("/") + "/gradio_api/mcp/schema").status_code == 401
        wrong = base64.b64encode(f"{USER[0]}:nope".encode()).decode()
        assert (
            httpx.post(mcp_url, json={}, headers={"Authorization": f"Basic {wrong}"}).status_code
            == 401
        )
        token = base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()
        tools, d = asyncio.run(_mcp(mcp_url, {"Authorization": f"Basic {token}"}))
        assert sorted(tools) == ["draft", "rewrite"]
        assert_rewrite_contract(d, DRAFT)
    finally:
        app.close()


# ---------------------------------------------------------------- the page's handlers


def _quiet(gen_or_value):
    """Run a handler outside a request (its gr.Warning becomes a Python warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(gen_or_value) if hasattr(gen_or_value, "__next__") else gen_or_value


def test_rewrite_handler_then_reject_a_change_then_copy_records_feedback(indexed):
    from drafter.web import handlers as h

    (out,) = _quiet(h.on_rewrite(DRAFT, "auto"))
    rewritten, diff, table, final, _flags, summary, _cites, judged, _copy, _open, status = out
    rows = table["value"]
    assert rewritten == final == judged.result.rewritten and status == ""
    assert len(rows) == len(judged.result.changes) and all(r[0] is True for r in rows)
    assert "<ins" in diff and "<del" in diff and "offline" in summary
    rows[0][0] = False
    final2, diff2, _open, _ = h.on_toggle(rows, judged)
    kept = judged.result.changes[1:]
    assert final2 == apply_changes(DRAFT, kept)
    assert "dr-rejected" in diff2
    status = h.on_copy_final(final2, rows, judged)
    assert "采纳" in status and feedback.count() == 1
    h.on_copy_final(final2, rows, judged)  # copying again updates the same record
    (row,) = feedback.rows()
    assert row.final == final2 and [d.accepted for d in row.decisions] == [r[0] for r in rows]


def test_results_of_an_edited_draft_are_stale_until_rewritten_and_decisions_carry_over(indexed):
    """The agent rewrites, rejects a change, edits the draft (a 3天→5天 correction): the
    old results can neither be toggled nor copied; rewriting again keeps the rejection and
    the correction."""
    from drafter.web import handlers as h

    draft = "你好，你的退款可能3天内到账。你为什么不早点联系我们？"
    (out,) = _quiet(h.on_rewrite(draft, "offline"))
    judged, rows = out[7], out[2]["value"]
    rows[0][0] = False  # reject the first change group
    rejected = judged.result.changes[0]
    edited = draft.replace("3天", "5天")
    final, table, copy, _open, status = h.on_draft_changed(edited, rows, judged)
    assert final == "" and table["interactive"] is False and copy["interactive"] is False
    assert "已修改" in status
    final2, _, _, status2 = h.on_toggle(rows, judged, edited)  # a toggle on the stale table
    assert final2 == "" and "已修改" in status2
    assert "已修改" in h.on_copy_final("", rows, judged, edited) and feedback.count() == 0
    # Undo back to the rewritten draft: the results are live again.
    final3, table3, _, _, _ = h.on_draft_changed(draft, rows, judged)
    assert table3["interactive"] is True and final3 == h._final(
        judged.result, h.decisions(rows, judged.result)
    )
    # Rewrite the edited draft: the rejected change stays rejected, the edit is kept.
    (out2,) = _quiet(h.on_rewrite(edited, "offline", rows, judged))
    new_rows, new_final, new_judged = out2[2]["value"], out2[3], out2[7]
    again = [
        r[0]
        for r, g in zip(new_rows, group_changes(new_judged.result.changes))
        if (g.rule, g.before, g.after) == (rejected.rule, rejected.before, rejected.after)
    ]
    assert again == [False]
    assert "5天" in new_final and rejected.before in new_final
    assert "保留" in out2[-1]


@pytest.mark.parametrize("shape", ["list", "strings", "dict", "pandas"])
def test_accept_column_in_any_shape_gradio_hands_back(shape):
    from drafter.web.handlers import accepted_from

    rows = [[True, 1], [False, 2], [True, 3]]
    if shape == "strings":
        rows = [["true", 1], ["false", 2], ["True", 3]]
    elif shape == "dict":
        rows = {"headers": ["采纳", "#"], "data": rows}
    elif shape == "pandas":
        pd = pytest.importorskip("pandas")
        rows = pd.DataFrame(rows, columns=["采纳", "#"])
    assert accepted_from(rows, 3) == [True, False, True]
    assert accepted_from(None, 2) == [True, True]


def test_errors_leave_the_agents_text_and_show_a_message():
    from drafter.web import handlers as h

    (out,) = _quiet(h.on_rewrite("  ", "auto"))
    # Every output but the status line is skipped: nothing the agent typed is replaced.
    assert all(
        isinstance(o, dict) and o.get("__type__") == "update" and len(o) == 1 for o in out[:-1]
    )
    assert "草稿是空的" in out[-1] and "dr-error" in out[-1]
    draft_out = _quiet(h.on_draft("", "chat", "auto"))
    assert "客户消息是空的" in draft_out[-1]


def test_streamed_llm_rewrite_shows_partial_text_then_the_validated_result(fake_llm):
    from fake_openai import MODEL, ok

    from drafter.web import handlers as h

    draft = "你好，你的订单12345可能是物流延误了。"
    good = "您好，您的订单12345是物流延误了。"
    fake_llm.push(ok({"rewritten": good, "changes": []}))
    outs = _quiet(h.on_rewrite(draft, "auto"))
    partial, final = outs[:-1], outs[-1]
    assert len(partial) > 1
    assert "大模型正在改写" in partial[0][-1] and "尚未校验" in partial[0][-1]
    assert "物流延误" in partial[-1][-1]  # the text so far, in the status line
    # nothing unchecked can be copied: the result boxes and the decisions are empty meanwhile
    assert all(o[0] == "" and o[3] == "" and o[7] is None for o in partial)
    assert all(o[8]["interactive"] is False for o in partial)  # nor copied with the button
    assert final[0] == good and final[7].result.engine == f"llm:{MODEL}"
    assert f"llm:{MODEL}" in final[5]


def test_search_and_open_a_passage_highlighted(indexed):
    from drafter.web import handlers as h

    results, pick, status = h.on_search("客户很生气，一直在抱怨，应该先做什么？", 5)
    assert status == "" and results.count('class="dr-hit"') == 5
    pid = pick["value"]
    slug, html = h.open_passage(pid)
    p = get_corpus().by_id[pid]
    assert slug == p.slug and 'id="dr-passage"' in html
    quote = p.text[2:8]
    tabs, slug2, html2 = h.open_citation(f"{pid}\t{quote}")
    assert tabs.selected == "knowledge" and slug2 == slug
    assert f'<strong class="dr-quote">{quote}</strong>' in html2


def test_upload_preview_cleans_html_and_ingest_indexes_it(tmp_path, monkeypatch, drafter_home):
    # Its own DRAFTER_HOME and knowledge folder: the shared session index is never touched.
    from drafter.web import handlers as h

    knowledge = tmp_path / "knowledge"
    shutil.copytree(settings.bundled_knowledge_dir(), knowledge)
    monkeypatch.setenv("DRAFTER_KNOWLEDGE", str(knowledge))
    page = tmp_path / "refund-rules.html"
    page.write_text(
        "<html><head><title>退换货规范</title><script>alert('x')</script></head><body>"
        "<nav>首页 | 登录</nav><h1>退换货规范</h1>"
        "<p>客户提出退货时，先确认订单号和购买日期，再说明退货的条件和时限。</p>"
        "<p>退款一般在收到退货后三个工作日内原路退回，请如实告知客户所需的时间。</p>"
        "<img src=x onerror=alert(1)></body></html>",
        encoding="utf-8",
    )
    preview, status, dropped = h.on_upload_preview([str(page)], "")
    assert "退款一般在收到退货后三个工作日内原路退回" in preview
    assert "<script" not in preview and "alert" not in preview and "onerror" not in preview
    assert "dr-ok" in status
    # every line left out is listed with its reason, to be ticked and kept
    assert dropped["visible"] and any("导航" in label for label, _ in dropped["choices"])
    nav = next(value for label, value in dropped["choices"] if "导航" in label)
    again, _, kept = h.on_upload_preview([str(page)], "", [nav])
    assert nav in again and kept["value"] == [nav]
    before = len(list((knowledge / "manuals").glob("*.md")))
    index_html, _manuals, status = h.on_ingest([str(page)], "")
    assert "dr-ok" in status and "退换货规范" in status
    assert len(list((knowledge / "manuals").glob("*.md"))) == before + 1
    assert f"手册 <b>{before + 1}</b> 份" in index_html
    results, _, _ = h.on_search("退款多久原路退回", 3)
    assert "三个工作日内原路退回" in results


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("tool.exe", b"MZ\x00\x00", "类型不受支持"),
        ("blob.txt", b"\x00\x01\x02binary", "二进制"),
        ("empty.md", b"", "是空的"),
    ],
)
def test_upload_refuses_wrong_files(tmp_path, name, data, words):
    from drafter.web import handlers as h

    path = tmp_path / name
    path.write_bytes(data)
    preview, status, dropped = h.on_upload_preview([str(path)], "")
    assert preview == "" and words in status and not dropped["visible"]


def test_eval_tab_runs_the_offline_suite(indexed):
    from drafter.web import handlers as h

    assert h.eval_available()
    summary, rows, pick, report, run, _status = h.on_eval_run(False)
    assert {r[0] for r in summary} == set(SUITES)  # dev and held-out
    assert len(rows) == sum(len(r["cases"]) for r in run["results"].values())
    assert report["visible"] and report["value"].endswith(".html")
    html = h.on_eval_case(run, pick["value"])
    assert "dr-case-head" in html


# ---------------------------------------------------------------- HTML is escaped


EVIL = '<script>window.pwned=1</script><img src=x onerror="alert(1)">"\'&'


def test_format_escapes_everything_it_renders():
    from drafter.types import Change, Citation, Flag, Passage
    from drafter.web import format as fmt

    cite = Citation(EVIL, EVIL, EVIL)
    text = EVIL + "你好"
    change = Change(EVIL, len(EVIL), len(text), "你好", EVIL, EVIL, cite)
    flag = Flag(EVIL, 0, 8, text[:8], EVIL, EVIL, cite)
    passage = Passage(EVIL, EVIL, "s", EVIL, 0, len(EVIL), 1.0)
    outputs = [
        fmt.diff_html(text, [change], [True], [flag]),
        fmt.diff_html(text, [change], [False], [flag]),
        fmt.flags_html([flag]),
        fmt.citations_html([cite]),
        fmt.placeholders_html([EVIL]),
        fmt.passages_html([passage]),
        fmt.manual_html(EVIL, text, 0, len(EVIL), "<img"),
        fmt.warnings_html([EVIL]),
        fmt.text_diff_html(EVIL, "x" + EVIL),
        fmt.status_html(EVIL),
        fmt.engine_badge(EVIL),
        fmt.eval_case_html(
            "rewrite",
            {
                "id": EVIL,
                "text": EVIL,
                "output": EVIL + "x",
                "expected": EVIL,
                "failures": [EVIL],
                "changes": [
                    {
                        "rule": EVIL,
                        "before": EVIL,
                        "after": EVIL,
                        "explanation": EVIL,
                        "citation": cite.to_dict(),
                    }
                ],
            },
        ),
    ]
    for html in outputs:
        assert "<script" not in html and "<img" not in html and 'onerror="' not in html, html
        assert "&lt;script&gt;" in html or "&lt;img" in html


def test_engine_selector_follows_the_llm_configuration(monkeypatch):
    from drafter.web.handlers import engine_choices

    choices, info, ok = engine_choices()
    assert [v for _, v in choices] == ["auto", "offline", "llm"]
    assert not ok and "DRAFTER_LLM_MODEL" in info
    monkeypatch.setenv("DRAFTER_LLM_MODEL", "m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    choices, info, ok = engine_choices()
    assert ok and "已配置大模型" in info


# ---------------------------------------------------------------- bounded under load


def test_a_rest_call_as_readme_shows_it(server, indexed):
    """As README shows scripts calling it: POST every parameter, read the event stream."""
    import json

    base = server.rstrip("/")
    r = httpx.post(f"{base}/gradio_api/call/rewrite", json={"data": [DRAFT, "auto"]})
    assert r.status_code == 200
    stream = httpx.get(f"{base}/gradio_api/call/rewrite/{r.json()['event_id']}", timeout=30)
    assert "event: complete" in stream.text
    (out,) = json.loads(stream.text.rsplit("data: ", 1)[1])
    assert_rewrite_contract(out, DRAFT)


def test_api_calls_keep_no_session_state(served, indexed):
    from drafter.web.api import API_SESSIONS_KEPT

    app, url = served
    c = Client(url, verbose=False, download_files=False)
    before = len(app.state_holder.session_data)
    for i in range(API_SESSIONS_KEPT + 20):
        assert c.predict(f"{DRAFT}{i}", api_name="/rewrite")["original"] == f"{DRAFT}{i}"
    # Each REST call is a session of its own: only the last few are still held.
    assert len(app.state_holder.session_data) <= before + API_SESSIONS_KEPT + 1


def _raw(port: int, source: str = "127.0.0.1", timeout: float = 5.0):
    import socket

    return socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
    )


def _closed_by_server(sock, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_one_client_cannot_hold_every_connection_and_idle_ones_are_closed(indexed):
    import time
    from urllib.parse import urlparse

    app, url = start(env={"DRAFTER_MAX_CONNECTIONS_PER_CLIENT": "5", "DRAFTER_HEADER_TIMEOUT": "1"})
    port = urlparse(url).port
    try:
        held = [_raw(port) for _ in range(9)]
        # The connections over the client's share are closed as they are accepted.
        refused = [s for s in held[5:] if _closed_by_server(s, 2.0)]
        assert len(refused) == 4
        # Another client still gets in while the first holds its five.
        probe = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        assert probe.get(url + "config").status_code == 200
        # Connections that never send a request are closed after the head timeout.
        t0 = time.monotonic()
        assert all(_closed_by_server(s, 5.0) for s in held[:5])
        assert time.monotonic() - t0 < 4
        # A slow client sending its request head byte by byte is closed too.
        slow = _raw(port)
        slow.sendall(b"GET /config HTTP/1.1\r\n")
        time.sleep(0.4)
        slow.sendall(b"Host: x\r\n")
        assert _closed_by_server(slow, 3.0)
        # A kept-alive connection serves request after request.
        for _ in range(3):
            assert probe.get(url + "config").status_code == 200
            time.sleep(0.3)
        for s in held:
            s.close()
    finally:
        app.close()


def test_open_items_count_flags_left_and_inline_placeholders_not_labels(indexed):
    from drafter.web import handlers as h

    draft = "【通话记录】\n客户：快递没到。\n坐席：一定是你搞错了，我们会在【处理时间】前回复。"
    (out,) = _quiet(h.on_rewrite(draft, "offline"))
    judged, open_html = out[7], out[9]
    assert judged.result.flags  # 一定是你搞错了 is flagged
    assert 'data-open="2"' in open_html and "【处理时间】" in open_html
    assert "【通话记录】" not in open_html  # a label opening a line is no blank
    filled = out[3].replace("【处理时间】", "明天中午").replace("一定是您搞错了", "")
    assert 'data-open="0"' in h.open_items(filled.replace("一定是你搞错了", ""), judged.result)
    assert "没有复制" in h.on_copy_final(h.COPY_CANCELLED, out[2]["value"], judged, draft)
    assert feedback.count() == 0


def test_wrong_passwords_are_throttled_then_the_right_one_works_later(monkeypatch, indexed):
    from drafter.web import gate

    monkeypatch.setattr(gate, "LOCK_S", 1.0)
    app, url = start(auth=f"{USER[0]}:{USER[1]}")
    try:
        login = url.rstrip("/") + "/login"
        codes = [
            httpx.post(login, data={"username": USER[0], "password": "nope"}).status_code
            for _ in range(gate.FAILURES + 2)
        ]
        assert codes[: gate.FAILURES] == [400] * gate.FAILURES and codes[-1] == 429
        r = httpx.post(login, data={"username": USER[0], "password": USER[1]})
        assert r.status_code == 429 and "秒后再试" in r.json()["detail"]
        assert r.headers["retry-after"]
        import time

        time.sleep(1.2)
        ok = httpx.post(login, data={"username": USER[0], "password": USER[1]})
        assert ok.status_code == 200
        page = httpx.get(url, cookies=ok.cookies)
        assert "退出登录" in page.text or "/logout" in page.text
    finally:
        app.close()
