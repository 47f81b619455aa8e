"""The app in a real browser: Playwright driving Debian's chromium, headless, offline.

What a user sees is what counts: each test saves a screenshot under artifacts/ (git-ignored).
Without /usr/bin/chromium the tests fail in CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from serving import free_port

from drafter import feedback
from drafter.core import Drafter
from drafter.rules.engine import rewrite_offline as rewrite
from drafter.types import apply_changes
from drafter.web.format import rule_label

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DRAFT = "你好，你的订单可能是明天到。你为什么不早点联系我们？一定是你搞错了！"
EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
MESSAGE = "我的订单 2024052188 三天了还没发货，你们怎么回事？"
TIMEOUT = 15_000  # ms: generous for slow CI machines; a working page answers in well under 1 s

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MISSING = (
    "Debian's chromium is missing (/usr/bin/chromium): install it with "
    "`apt-get install chromium` (make browser-deps); never `playwright install`."
)


def chromium_verdict(path: Path, ci: bool) -> str | None:
    """None when chromium is there; else "fail" in CI (it must be installed) or "skip"."""
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return "fail" if ci else "skip"


# Outside CI a machine without chromium skips these tests; in CI they run and fail loudly.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_verdict(CHROMIUM, IN_CI) == "skip", reason=MISSING),
]


@pytest.fixture(autouse=True)
def own_feedback_store(tmp_path, monkeypatch):
    """Each test its own feedback store, even when DRAFTER_HOME is the shared index home."""
    monkeypatch.setenv("DRAFTER_FEEDBACK_DB", str(tmp_path / "feedback.db"))


def _require_chromium() -> None:
    if chromium_verdict(CHROMIUM, IN_CI) == "fail":
        pytest.fail(MISSING, pytrace=False)


@pytest.fixture(scope="module")
def served_drafter(shared_index_home, tmp_path_factory) -> Drafter:
    """The Drafter the served app is built on (its state folder: the session's index)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DRAFTER_AUTH", raising=False)
        mp.setenv("DRAFTER_HOME", str(shared_index_home))
        mp.setenv("DRAFTER_FEEDBACK_DB", str(tmp_path_factory.mktemp("browser") / "feedback.db"))
        return Drafter()


@pytest.fixture(scope="module")
def app_url(served_drafter) -> Iterator[str]:
    _require_chromium()
    from drafter.web.app import build_app
    from drafter.web.server import launch

    app = build_app(served_drafter)
    _, url, _ = launch(
        app, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True, drafter=served_drafter
    )
    yield url
    app.close()


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url, indexed):
    """A fresh page (1440×900, zh-CN) whose every request off the loopback host is refused
    and recorded: the page must render and work with no network."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(TIMEOUT)
    host = urlparse(app_url).netloc
    outside: list[str] = []

    def gate(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).netloc == host:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    ctx.route("**/*", gate)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(app_url)
    pg.wait_for_selector("#rw-draft textarea")
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    assert not outside, f"the page tried to reach the network: {outside}"
    assert not errors, f"JavaScript errors: {errors}"
    ctx.close()


def shot(pg, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=full)


def run_rewrite(pg, text: str) -> None:
    pg.fill("#rw-draft textarea", text)
    pg.click("#rw-run")
    pg.wait_for_selector("#rw-diff #dr-diff-body ins")


def accept_boxes(pg):
    return pg.locator('#rw-changes [role="gridcell"][data-col="0"] input[type="checkbox"]')


def test_page_shows_the_four_tabs_offline(page):
    tabs = page.get_by_role("tab")
    assert [t.inner_text().strip() for t in tabs.all()] == ["改写", "起草", "知识库", "评测"]
    assert page.title() == "回复助手"
    # No model is configured: the LLM choice is shown disabled, with the reason.
    llm = page.locator('#rw-engine label:has(input[value="llm"])')
    assert llm.evaluate("e => getComputedStyle(e).pointerEvents") == "none"
    assert "DRAFTER_LLM_MODEL" in page.inner_text("#rw-engine")
    shot(page, "home", full=False)


def test_rewrite_shows_diff_and_changes_and_rejecting_updates_the_final_text(page, served_drafter):
    expected = rewrite(DRAFT)
    run_rewrite(page, DRAFT)
    assert page.input_value("#rw-rewritten textarea") == expected.rewritten
    assert page.locator("#rw-diff #dr-diff-body del").count() == len(expected.changes)
    boxes = accept_boxes(page)
    assert boxes.count() == len(expected.changes)
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    cells = page.locator('#rw-changes [role="gridcell"][data-col="2"]')
    assert [cells.nth(i).inner_text().strip() for i in range(cells.count())] == [
        rule_label(c.rule) for c in expected.changes
    ]
    assert "一定是你搞错了" in page.inner_text("#rw-flags")  # a flag with its suggestion
    assert "建议" in page.inner_text("#rw-flags")
    assert page.input_value("#rw-final textarea") == expected.rewritten

    boxes.nth(0).click()  # reject the first change
    kept = apply_changes(DRAFT, expected.changes[1:])
    page.wait_for_function(
        "t => document.querySelector('#rw-final textarea').value === t", arg=kept
    )
    assert page.locator("#rw-diff #dr-diff-body .dr-rejected").count() == 1
    shot(page, "rewrite-rejected")

    page.once("dialog", lambda d: d.accept())  # a flag is left: the copy asks first
    page.click("#rw-copy")
    page.wait_for_selector("#rw-copy-status .dr-ok")
    assert "拒绝 1 处" in page.inner_text("#rw-copy-status")
    with served_drafter.state.active():  # what the app stored, in its own state folder
        (row,) = feedback.rows()
    assert row.final == kept and [d.accepted for d in row.decisions][:2] == [False, True]


def test_an_edited_draft_makes_the_results_stale_and_a_rewrite_keeps_the_decisions(page):
    """The agent rewrites, rejects a change, corrects 3天 to 5天 in the draft: the old final
    text cannot be copied; rewriting again keeps the rejection and the correction."""
    draft = "你好，你的退款可能3天内到账。你为什么不早点联系我们？"
    run_rewrite(page, draft)
    first = rewrite(draft).changes[0]
    accept_boxes(page).nth(0).click()  # reject the first change
    page.wait_for_function(
        "t => document.querySelector('#rw-final textarea').value === t",
        arg=apply_changes(draft, rewrite(draft).changes[1:]),
    )
    edited = draft.replace("3天", "5天")
    page.locator("#rw-draft textarea").click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")  # an edit by key...
    page.keyboard.insert_text("？")  # ...and one as an IME sends it (no key events)
    page.fill("#rw-draft textarea", edited)
    page.wait_for_function(
        "() => document.querySelector('#rw-status').innerText.includes('已修改')"
    )
    assert page.input_value("#rw-final textarea") == ""
    assert page.locator("#rw-copy").is_disabled()
    shot(page, "rewrite-stale", full=False)

    page.click("#rw-run")
    page.wait_for_function("() => document.querySelector('#rw-status').innerText.includes('保留')")
    page.wait_for_function("() => !document.querySelector('#rw-copy').disabled", timeout=5000)
    final = page.input_value("#rw-final textarea")
    assert "5天" in final and first.before in final  # the correction and the rejection kept
    assert not accept_boxes(page).nth(0).is_checked()


def test_copy_asks_while_flags_or_placeholders_are_left(page, served_drafter):
    draft = "你好，一定是你搞错了，我们会在【处理时间】前给你回复。"
    run_rewrite(page, draft)
    page.wait_for_selector('#rw-open .dr-open[data-open="2"]')
    with served_drafter.state.active():
        before = feedback.count()
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("#rw-copy")
    page.wait_for_function(
        "() => document.querySelector('#rw-copy-status').innerText.includes('没有复制')"
    )
    assert asked == ["还有 2 处未处理，仍要复制？"]
    with served_drafter.state.active():
        assert feedback.count() == before  # nothing recorded for a copy called off
    page.once("dialog", lambda d: answer(d, True))
    page.click("#rw-copy")
    page.wait_for_function(
        "() => document.querySelector('#rw-copy-status').innerText.includes('已复制')"
    )
    assert len(asked) == 2


CONTRAST_JS = """(sel) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (e) => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(sel)].map((e) => {
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_highlights_are_readable_in_light_and_dark_mode(browser, app_url, indexed, scheme):
    ctx = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", color_scheme=scheme
    )
    ctx.set_default_timeout(TIMEOUT)
    try:
        pg = ctx.new_page()
        pg.goto(app_url)
        pg.wait_for_selector("#rw-draft textarea")
        assert pg.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")
        run_rewrite(pg, "你好，一定是你搞错了，我们会在【处理时间】前给你回复。")
        for sel in ("#rw-diff mark.dr-flag", "#rw-diff del", "#rw-diff ins", "#rw-open .dr-ph"):
            ratios = pg.evaluate(CONTRAST_JS, sel)
            assert ratios and min(ratios) >= 4.5, (scheme, sel, ratios)
        shot(pg, f"rewrite-{scheme}", full=False)
    finally:
        ctx.close()


def test_nothing_scrolls_sideways_on_a_phone(browser, app_url, indexed):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    ctx.set_default_timeout(TIMEOUT)
    wide = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    try:
        pg = ctx.new_page()
        pg.goto(app_url)
        pg.wait_for_selector("#rw-draft textarea")
        run_rewrite(pg, DRAFT)
        overflow = {"改写": pg.evaluate(wide)}
        shot(pg, "phone-rewrite")
        for name in ("起草", "知识库", "评测"):
            pg.get_by_role("tab", name=name).click()
            pg.wait_for_timeout(300)
            overflow[name] = pg.evaluate(wide)
        assert all(v <= 0 for v in overflow.values()), overflow
    finally:
        ctx.close()


def draft_email(pg) -> None:
    """The 起草 tab: the sample customer message drafted as an e-mail reply."""
    pg.get_by_role("tab", name="起草").click()
    pg.fill("#dr-message textarea", MESSAGE)
    pg.locator("#dr-channel").get_by_text("邮件").click()
    pg.click("#dr-run")
    pg.wait_for_function("() => document.querySelector('#dr-reply textarea').value.length > 20")


def test_the_draft_survives_a_reload_and_sending_a_reply_over_it_asks(page):
    page.fill("#rw-draft textarea", "你好，这是我还没发出去的草稿。")
    page.wait_for_timeout(300)
    page.reload()
    page.wait_for_function(
        "() => ((document.querySelector('#rw-draft textarea') || {}).value || '')"
        ".includes('还没发出去')"
    )
    draft_email(page)
    reply = page.input_value("#dr-reply textarea")
    page.once("dialog", lambda d: d.dismiss())  # keep the draft that is there
    page.click("#dr-send")
    page.wait_for_timeout(800)
    assert "还没发出去" in page.input_value("#rw-draft textarea")
    page.once("dialog", lambda d: d.accept())
    page.click("#dr-send")
    page.wait_for_function(
        "t => document.querySelector('#rw-draft textarea').value === t", arg=reply
    )


def test_the_placeholder_reminder_follows_ime_input_and_backspace(page):
    draft_email(page)
    page.wait_for_selector("#dr-placeholders .dr-ph")
    reply = page.input_value("#dr-reply textarea")
    count = page.locator("#dr-placeholders .dr-ph").count()
    start = reply.index("【")
    end = reply.index("】", start) + 1
    # Select the first placeholder and type over it as an IME does (insertText only).
    page.locator("#dr-reply textarea").evaluate(
        "(e, r) => { e.focus(); e.setSelectionRange(r[0], r[1]); }", [start, end]
    )
    page.keyboard.insert_text("三个工作日内")
    page.wait_for_function(
        "n => document.querySelectorAll('#dr-placeholders .dr-ph').length === n", arg=count - 1
    )


def test_script_and_onerror_in_a_draft_stay_inert(page):
    run_rewrite(page, DRAFT + EVIL)
    page.wait_for_selector("#rw-flags .dr-flag-item")
    assert page.evaluate("window.__pwned") is None
    for area in ("#rw-diff", "#rw-flags", "#rw-changes", "#rw-summary"):
        assert page.locator(f"{area} img, {area} script").count() == 0
    assert "onerror" in page.inner_text("#rw-diff")  # shown as text
    shot(page, "rewrite-inert")


def test_errors_are_shown_and_the_draft_is_kept(page):
    page.click("#rw-run")  # empty draft
    page.wait_for_selector("#rw-status .dr-error")
    assert "草稿是空的" in page.inner_text("#rw-status")
    long_text = "你好" * 10_001  # over the server's DRAFTER_MAX_CHARS (20,000 by default)
    page.fill("#rw-draft textarea", long_text)
    page.click("#rw-run")
    page.wait_for_function(
        "() => document.querySelector('#rw-status').innerText.includes('超过上限')"
    )
    assert page.input_value("#rw-draft textarea") == long_text
    assert "Traceback" not in page.content()
    shot(page, "rewrite-error", full=False)


def test_draft_a_reply_then_send_it_to_the_rewrite_tab(page):
    draft_email(page)
    reply = page.input_value("#dr-reply textarea")
    assert "2024052188" in reply and "【" in reply
    assert page.locator("#dr-citations li").count() >= 3
    assert page.locator("#dr-placeholders .dr-ph").count() >= 1
    shot(page, "draft")

    edited = reply.replace("您好", "你好", 1)  # the agent edits the reply, then checks the tone
    page.fill("#dr-reply textarea", edited)
    page.click("#dr-send")
    page.wait_for_function(
        "t => document.querySelector('#rw-draft textarea').value === t", arg=edited
    )
    page.wait_for_selector("#rw-diff #dr-diff-body ins")
    assert page.get_by_role("tab", name="改写").get_attribute("aria-selected") == "true"
    assert page.input_value("#rw-rewritten textarea") == rewrite(edited).rewritten
    assert "你好" not in page.input_value("#rw-rewritten textarea")
    shot(page, "draft-sent-to-rewrite", full=False)


def test_search_opens_the_manual_with_the_passage_highlighted(page):
    page.get_by_role("tab", name="知识库").click()
    page.fill("#kb-query textarea", "客户很生气，一直在抱怨，应该先做什么？")
    page.click("#kb-search")
    page.wait_for_selector("#kb-results .dr-hit")
    assert page.locator("#kb-results .dr-hit").count() == 5
    page.wait_for_selector("#kb-view mark#dr-passage")
    assert page.locator("#kb-view mark#dr-passage").is_visible()
    assert re.search(r"手册 \d+ 份", page.inner_text("#kb-index-status"))
    shot(page, "knowledge")


def test_a_citation_opens_in_the_knowledge_tab(page):
    run_rewrite(page, DRAFT)
    page.click("#rw-open-cite")
    page.wait_for_selector("#kb-view mark#dr-passage")
    assert page.get_by_role("tab", name="知识库").get_attribute("aria-selected") == "true"
    quote = page.inner_text("#kb-view .dr-quote")
    assert quote and quote in page.inner_text("#kb-view mark#dr-passage")


def test_a_rule_url_of_the_languagetool_api_opens_its_passage(page, app_url):
    """What a LanguageTool client links (rule.urls) opens the knowledge tab at the passage."""
    import httpx

    answer = httpx.post(
        app_url.rstrip("/") + "/v2/check", data={"text": DRAFT, "language": "zh-CN"}
    ).json()
    match = next(m for m in answer["matches"] if m.get("citation"))
    page.goto(match["rule"]["urls"][0]["value"])
    page.wait_for_selector("#kb-view mark#dr-passage")
    assert page.get_by_role("tab", name="知识库").get_attribute("aria-selected") == "true"
    assert match["citation"]["quote"] in page.inner_text("#kb-view mark#dr-passage")
    assert page.locator("#kb-view mark#dr-passage").is_visible()


def test_upload_shows_the_cleaned_preview(page, tmp_path):
    manual = tmp_path / "refund.html"
    manual.write_text(
        "<html><head><title>退换货规范</title></head><body><nav>首页 | 登录 | 注册</nav>"
        "<h1>退换货规范</h1><p>客户提出退货时，先确认订单号和购买日期，再说明退货的条件和时限。</p>"
        "<p>退款一般在收到退货后三个工作日内原路退回，请如实告知客户所需的时间。</p>"
        f"{EVIL}</body></html>",
        encoding="utf-8",
    )
    page.get_by_role("tab", name="知识库").click()
    page.click("#kb-upload-box button, #kb-upload-box .label-wrap", timeout=5000)
    page.locator('#kb-files input[type="file"]').set_input_files(str(manual))
    page.wait_for_function(
        "() => document.querySelector('#kb-preview textarea').value.includes('原路退回')"
    )
    preview = page.input_value("#kb-preview textarea")
    assert "<script" not in preview and "onerror" not in preview
    assert page.evaluate("window.__pwned") is None
    # The lines left out are listed with their reason; ticking one keeps it in the preview.
    nav = page.locator("#kb-dropped label", has_text="首页 | 登录 | 注册")
    nav.first.wait_for()
    assert "首页 | 登录 | 注册" not in preview
    nav.first.click()
    page.wait_for_function(
        "() => document.querySelector('#kb-preview textarea').value.includes('首页 | 登录 | 注册')"
    )
    shot(page, "upload-preview")


def test_eval_tab_runs_the_suite_and_shows_acceptance(page):
    from drafter.web.handlers import eval_available

    r = rewrite(DRAFT)
    feedback.record(DRAFT, r.rewritten, r.engine, r.changes, [True] * len(r.changes))
    page.get_by_role("tab", name="评测").click()
    page.click("#ev-refresh")
    page.wait_for_function(
        "() => document.querySelector('#ev-rates').innerText.includes('polite-pronoun')"
    )
    if eval_available():
        page.click("#ev-run")
        page.wait_for_selector("#ev-status .dr-ok", timeout=60_000)
        assert "rewrite" in page.inner_text("#ev-summary")
        assert page.locator("#ev-report").is_visible()
        page.wait_for_selector("#ev-case .dr-case-head")
        # A click on a row of the per-case table opens that case.
        cell = page.locator('#ev-cases [role="gridcell"][data-row="3"][data-col="1"]')
        case_id = cell.inner_text().strip()
        cell.click()
        page.wait_for_function(
            "id => document.querySelector('#ev-case .dr-case-head').innerText.includes(id)",
            arg=case_id,
        )
    shot(page, "eval")


def test_login_page_when_auth_is_set(browser, indexed):
    from drafter.web.app import build_app
    from drafter.web.server import launch

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRAFTER_AUTH", "agent:s3cret")
        app = build_app()
        _, url, _ = launch(app, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    ctx.set_default_timeout(TIMEOUT)
    try:
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_selector("input[type=password]")
        assert page.locator("#rw-draft").count() == 0  # nothing of the app before the login
        page.get_by_label("用户名").fill("agent")
        page.fill("input[type=password]", "wrong")
        page.get_by_role("button", name="登录").click()
        page.wait_for_timeout(500)
        assert page.locator("#rw-draft").count() == 0
        page.get_by_label("用户名").fill("agent")
        page.fill("input[type=password]", "s3cret")
        page.get_by_role("button", name="登录").click()
        page.wait_for_selector("#rw-draft textarea")
        run_rewrite(page, DRAFT)
        shot(page, "after-login", full=False)
    finally:
        ctx.close()
        app.close()


@pytest.mark.parametrize("ci, verdict", [(True, "fail"), (False, "skip")])
def test_missing_chromium_fails_in_ci_and_skips_elsewhere(tmp_path, ci, verdict):
    assert chromium_verdict(tmp_path / "no-chromium", ci) == verdict
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert chromium_verdict(fake, ci) is None
