"""The LanguageTool API of `drafter serve`, driven by LanguageTool clients nobody here wrote:
language-tool-python (its remote-server mode) and pylanguagetool (its command line), on
loopback, with drafts that carry emoji, CRLF and Traditional script; plus what a shared
server needs (CORS, the login, limits) and LanguageTool-style refusals."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from language_tool_python import LanguageTool
from language_tool_python.exceptions import LanguageToolError
from language_tool_python.utils import correct
from serving import start

from drafter import Drafter

pytestmark = pytest.mark.slow

DRAFTS = [
    "你好😀，你的快递可能是丢了，\r\n为什么不早点说？我也不知道🙏你冷静一下",
    "👍👍 亲，你们公司的订单可能会晚点到，请你等一下。\r\n\r\n为什么你不早点联系我们？",
    "您好，請你稍等，為什麼你不早點說？你們的包裹可能是寄丟了😢",
    "王女士，你好！\r\n你反馈的漏水问题可能是安装时密封圈没压紧，师傅明天上门，你看上午还是下午方便？",
]
ORIGINS = "https://crm.example.com,chrome-extension://*"
USER, PASSWORD = "agent", "s3cret:with-colon"
LEAD = ("lead", "pw2")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app, base = start(env={"DRAFTER_LT_ORIGINS": ORIGINS})
    yield base.rstrip("/")
    app.close()


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A server with a login and a tight rate limit (a burst of 5 a client)."""
    app, base = start(auth=f"{USER}:{PASSWORD},{LEAD[0]}:{LEAD[1]}", env={"DRAFTER_LT_RATE": "12"})
    yield base.rstrip("/")
    app.close()


def spans(text: str) -> dict[str, set[tuple[int, int]]]:
    result = Drafter().rewrite(text, engine="offline")
    return {
        "change": {(c.start, c.end) for c in result.changes},
        "flag": {(f.start, f.end) for f in result.flags},
    }


@pytest.mark.parametrize("text", DRAFTS)
def test_language_tool_python_marks_our_findings_and_correct_gives_the_rewrite(url, text):
    language = "zh-TW" if "為" in text else "zh-CN"
    tool = LanguageTool(language, remote_server=url)
    matches = tool.check(text)
    found = spans(text)
    assert len(matches) == len(found["change"]) + len(found["flag"]) > 0
    for m in matches:
        start = m.offset  # the client's code-point offset, from our UTF-16 one
        marked = {(a, b) for a, b in found["change"] | found["flag"] if a == start}
        assert marked, f"{m.rule_id} at {start} is not where the engine found something"
        assert bool(m.replacements) == any(s in found["change"] for s in marked)
    assert correct(text, matches) == Drafter().rewrite(text, engine="offline").rewritten


def test_language_tool_python_rule_switches_reach_the_server(url):
    tool = LanguageTool("zh-CN", remote_server=url)
    tool.disabled_rules.update({"polite-pronoun"})
    ids = {m.rule_id for m in tool.check(DRAFTS[0])}
    assert ids and "polite-pronoun" not in ids
    tool = LanguageTool("zh-CN", remote_server=url)
    tool.enabled_rules.update({"definite"})
    tool.enabled_rules_only = True
    assert {m.rule_id for m in tool.check(DRAFTS[0])} == {"definite"}


def test_language_tool_python_shows_our_refusal_as_one_sentence(url):
    tool = LanguageTool("zh-CN", remote_server=url)
    with pytest.raises(LanguageToolError) as err:
        tool.check("   ")
    assert "Error: 要检查的文字是空的" in str(err.value)
    assert "Traceback" not in str(err.value)


def _pylanguagetool(url: str, path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("pylanguagetool")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [str(exe), "--api-url", f"{url}/v2/", "--no-color", *args, str(path)],
        check=False,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("text", DRAFTS)
def test_pylanguagetool_underlines_the_characters_we_found(url, tmp_path, text):
    path = tmp_path / "draft.txt"
    path.write_bytes(text.encode("utf-8"))  # CRLF kept as written
    run = _pylanguagetool(url, path, "--lang", "zh-TW" if "為" in text else "zh-CN", "--rules")
    assert run.returncode == 1, run.stdout + run.stderr  # 1: there are matches
    lines = run.stdout.splitlines()
    found = Drafter().rewrite(text, engine="offline")
    written = {c.before for c in found.changes} | {f.text for f in found.flags}
    marked = []
    for i, line in enumerate(lines):
        if line.startswith("  ✗ "):
            carets = lines[i + 1]
            start = len(carets) - len(carets.lstrip(" "))
            shown = line[start : start + carets.count("^")]
            marked.append(shown)
    assert len(marked) == len(found.changes) + len(found.flags)
    flat = {w.replace("\r", " ").replace("\n", " ") for w in written}
    assert set(marked) <= flat, (marked, flat)
    for c in found.changes:  # each rewrite is shown as the fixed context
        assert c.after in run.stdout
    # --rules: id and description (in Traditional for a Traditional draft)
    assert (
        "polite-pronoun: 称呼客户用“您”" in run.stdout or "polite-pronoun: 稱呼客戶用" in run.stdout
    )
    assert "Text checked by" in run.stdout and "drafter" in run.stdout


def test_a_clean_draft_passes_pylanguagetool(url, tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text("您好，您的订单已经发出，预计明天送达。感谢您的耐心等待！", encoding="utf-8")
    run = _pylanguagetool(url, path, "--lang", "auto")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Chinese detected (100% confidence)" in run.stdout


@pytest.mark.parametrize(
    ("data", "status", "says"),
    [
        ({"text": "", "language": "zh-CN"}, 400, "文字是空的"),
        ({"language": "zh-CN"}, 400, "缺少参数 text 或 data"),
        ({"text": "你" * 20_001, "language": "zh-CN"}, 413, "超过上限 20000"),
        ({"text": "你好", "language": "xx-YY"}, 400, "不支持语言"),
        ({"data": '{"annotation": [{"text": "你好"', "language": "zh-CN"}, 400, "不是有效的 JSON"),
        ({"text": "你好", "language": "zh-CN", "enabledOnly": "yes"}, 400, "enabledOnly"),
    ],
)
def test_bad_input_gets_a_languagetool_style_refusal(url, data, status, says):
    r = httpx.post(f"{url}/v2/check", data=data, timeout=30)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("Error: ") and says in r.text
    assert "Traceback" not in r.text and r.text.count("\n") == 0


def test_an_oversized_body_is_refused_before_it_is_read(url):
    body = b"language=zh-CN&text=" + b"%E4%BD%A0" * 400_000  # 3.6 MB
    r = httpx.post(
        f"{url}/v2/check",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert r.status_code == 413 and r.text.startswith("Error: ")


def test_get_and_languages_as_clients_use_them(url):
    r = httpx.get(f"{url}/v2/check", params={"text": "你好，请你稍等", "language": "zh"})
    assert r.status_code == 200
    assert "polite-pronoun" in {m["rule"]["id"] for m in r.json()["matches"]}
    langs = httpx.get(f"{url}/v2/languages").json()
    assert {"zh-CN", "zh-TW", "zh-HK"} <= {lang["longCode"] for lang in langs}
    assert httpx.get(f"{url}/v2/nothing").status_code == 404
    # The page itself is still served beside the API.
    assert httpx.get(f"{url}/").status_code == 200


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://crm.example.com", True),
        ("chrome-extension://oldceeleldhonbafppcapldpdifcinji", True),
        ("https://evil.example.com", False),
    ],
)
def test_cors_follows_the_allowed_origins(url, origin, allowed):
    pre = httpx.options(
        f"{url}/v2/check",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert pre.status_code == 204
    assert (pre.headers.get("access-control-allow-origin") == origin) is allowed
    if allowed:
        assert "POST" in pre.headers["access-control-allow-methods"]
    r = httpx.post(
        f"{url}/v2/check", data={"text": "你好", "language": "zh-CN"}, headers={"origin": origin}
    )
    assert r.status_code == 200
    assert (r.headers.get("access-control-allow-origin") == origin) is allowed


def test_the_login_as_basic_auth_and_as_premium_parameters(guarded):
    data = {"text": "请你稍等", "language": "zh-CN"}
    refused = httpx.post(f"{guarded}/v2/check", data=data)
    assert refused.status_code == 401 and refused.text.startswith("Error: 需要登录")
    assert refused.headers["www-authenticate"].startswith("Basic")
    wrong = httpx.post(f"{guarded}/v2/check", data={**data, "username": USER, "apiKey": "nope"})
    assert wrong.status_code == 401
    ok = httpx.post(f"{guarded}/v2/check", data=data, auth=(USER, PASSWORD))
    assert ok.status_code == 200 and ok.json()["matches"]
    premium = httpx.post(f"{guarded}/v2/check", data={**data, "username": USER, "apiKey": PASSWORD})
    assert premium.status_code == 200
    assert httpx.get(f"{guarded}/v2/languages").status_code == 200  # open, as LanguageTool's
    # language-tool-python takes the login from the server URL.
    host = guarded.split("://", 1)[1]
    tool = LanguageTool("zh-CN", remote_server=f"http://{USER}:{PASSWORD}@{host}")
    assert tool.check("请你稍等")


def test_a_client_over_its_rate_is_told_when_to_retry(guarded):
    header = "Basic " + base64.b64encode(":".join(LEAD).encode()).decode()
    codes = []
    for _ in range(12):
        r = httpx.post(
            f"{guarded}/v2/check",
            data={"text": "你好", "language": "zh-CN"},
            headers={"authorization": header},
        )
        codes.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            assert r.text.startswith("Error: 请求太频繁")
            break
    assert 429 in codes and codes[0] == 200
