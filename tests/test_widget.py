"""The storefront widget: its routes, and the widget in headless Chromium against a real `hipbot serve`."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from hipbot.assistant import Hipbot
from hipbot.config import REPO_ROOT, Settings
from hipbot.web import WIDGET_DIR, add_widget_routes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
XSS = "<img src=x onerror=alert(1)>"
REPLIES = ".answer, .urgent, .note"
HTML_SINKS = (
    r"\.innerHTML",
    r"\.outerHTML",
    r"insertAdjacentHTML",
    r"setHTMLUnsafe",
    r"document\.write",
    r"\beval\(",
    r"new Function",
    r"\blocalStorage\s*[.\[]",
)

expect.set_options(timeout=20_000)


# --------------------------------------------------------------------------- the routes (no browser)


def test_widget_js_is_javascript_with_caching_headers(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["etag"]
    assert response.text == (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    head = client.head("/widget.js")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(response.content)


class ScriptFinder(HTMLParser):
    """Collects <script> tags, their bodies, and any inline event-handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.bodies: list[str] = []
        self.handlers: list[str] = []
        self.stylesheets: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [f"<{tag} {name}>" for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._in_script = True
            self.bodies.append("")
        if tag == "link" and dict(attrs).get("rel") == "stylesheet":
            self.stylesheets.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.bodies[-1] += data


def test_demo_page_embeds_the_snippet_without_inline_script(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    finder = ScriptFinder()
    finder.feed(response.text)
    assert finder.scripts == [{"src": "/widget.js", "async": None}]
    assert all(not body.strip() for body in finder.bodies)
    assert finder.handlers == []
    for href in finder.stylesheets:
        css = client.get(href)
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")


def test_widget_never_parses_text_as_html_nor_uses_local_storage() -> None:
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    for forbidden in HTML_SINKS:
        assert not re.search(forbidden, source), forbidden
    header = source.split("*/", 1)[0]
    for attribute in (
        "data-api",
        "data-title",
        "data-accent",
        "data-position",
        "data-greeting",
        "data-starters",
    ):
        assert attribute in header


def test_missing_widget_folder_is_a_warning_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = FastAPI()
    with caplog.at_level(logging.WARNING, logger="hipbot.web"):
        add_widget_routes(app, tmp_path / "missing")
    assert "no widget folder" in caplog.text
    assert TestClient(app).get("/widget.js").status_code == 404


# --------------------------------------------------------------------------- servers for the browser


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def static_server(root: Path) -> http.server.ThreadingHTTPServer:
    """A tiny web server for `root` on a free loopback port (another store's origin)."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


STORE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another store</title><link rel="icon" href="data:,">
<style>
  /* A store stylesheet that would wreck the widget if it reached into it. */
  * {{ font-family: "Comic Sans MS", cursive !important; }}
  button {{ background: hotpink !important; color: yellow !important; text-transform: uppercase !important; }}
  p, div, section {{ color: rgb(255, 0, 0) !important; font-size: 30px !important; }}
</style></head>
<body><h1>Another store</h1><p class="store-text">Our own text.</p>
<script src="{bot}/widget.js" data-api="{api}" data-title="Shop helper" data-accent="#7c3aed"
  data-greeting="Hello from the shop: ask about your hips."
  data-position="left" data-starters="How should I sit with sciatica?|Is yoga good for tight hips?"
  data-timeout="{timeout}" async></script>
</body></html>
"""


@dataclass
class Servers:
    bot: str  # the hipbot server, which also serves the demo page at /
    allowed: str  # a store origin listed in HIPBOT_ALLOWED_ORIGINS
    refused: str  # a store origin that is not
    log: Path  # what the hipbot server logs


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def servers(bot: Hipbot, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """A real `hipbot serve` on the session's index, and two other origins serving a store page."""
    port = free_port()
    bot_url = f"http://127.0.0.1:{port}"
    root = tmp_path_factory.mktemp("store")
    pages = {
        "store.html": (bot_url, 30),
        "slow.html": (bot_url, 2),
        "dead.html": (f"http://127.0.0.1:{free_port()}", 30),
    }
    for name, (api, timeout) in pages.items():
        (root / name).write_text(STORE_PAGE.format(bot=bot_url, api=api, timeout=timeout), encoding="utf-8")
    allowed, refused = static_server(root), static_server(root)
    allowed_origin = f"http://127.0.0.1:{allowed.server_address[1]}"
    script = Path(sys.executable).with_name("hipbot")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from hipbot.cli import main; main()"]
    )
    env = {
        **os.environ,
        "HIPBOT_CORPUS_DIR": str(settings.corpus_dir),
        "HIPBOT_INDEX_DIR": str(settings.index_dir),
        "HIPBOT_ALLOWED_ORIGINS": json.dumps([allowed_origin]),
        "HIPBOT_LOG_LEVEL": "WARNING",
    }
    log_path = root / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(bot_url, process, log_path)
        yield Servers(bot_url, allowed_origin, f"http://127.0.0.1:{refused.server_address[1]}", log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        allowed.shutdown()
        refused.shutdown()


def wait_for_health(url: str, process: subprocess.Popen[bytes], log_path: Path, limit: float = 180) -> None:
    """Wait until the server answers /health; fail with its output if it exits or takes too long."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"hipbot serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    pytest.fail(f"hipbot serve did not answer /health in {limit}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture()
def new_page(browser: Browser, servers: Servers) -> Iterator[Callable[..., Page]]:
    """Open a URL (default: the demo page) in a fresh browser context; fail on any page error."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(url: str | None = None, viewport: ViewportSize = DESKTOP, go: bool = True) -> Page:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if go:
            page.goto(url or f"{servers.bot}/")
            expect(launcher(page)).to_be_visible()
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


# --------------------------------------------------------------------------- page helpers


def widget(page: Page) -> Locator:
    return page.locator("hipbot-chat")


def launcher(page: Page) -> Locator:
    return widget(page).locator(".launcher")


def panel(page: Page) -> Locator:
    return widget(page).locator(".panel")


def open_widget(page: Page) -> None:
    launcher(page).click()
    expect(panel(page)).to_be_visible()


def ask(page: Page, question: str) -> Locator:
    """Type a question, send it with Enter, and return the reply once it is shown."""
    replies = widget(page).locator(REPLIES)
    before = replies.count()
    box = widget(page).get_by_role("textbox", name="Your question")
    box.fill(question)
    box.press("Enter")
    expect(replies).to_have_count(before + 1)
    return replies.last


def shadow_eval(page: Page, script: str) -> Any:
    """Evaluate `script` (a function of the widget's host element) in the page."""
    return widget(page).evaluate(script)


def focused_class(page: Page) -> str:
    """The class of the element focused inside the widget, or '' when focus is elsewhere."""
    return str(
        page.evaluate(
            "() => { const a = document.activeElement;"
            " return a && a.shadowRoot && a.shadowRoot.activeElement"
            " ? (a.shadowRoot.activeElement.className || a.shadowRoot.activeElement.tagName) : ''; }"
        )
    )


CONTRAST_CHECK = """host => {
  const parse = (c) => {
    const p = (/rgba?\\(([^)]+)\\)/.exec(c) || ["", ""])[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return p.length < 3 ? null : [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  const up = (e) => e.parentElement || (e.parentNode && e.parentNode.host) || null;
  const failures = [];
  for (const el of host.shadowRoot.querySelectorAll("*")) {
    if (el.closest("svg, .sr-only") || !el.getClientRects().length) continue;
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    let bg = null, skip = false;
    for (let e = el; e && e !== host; e = up(e)) {
      const style = getComputedStyle(e);
      if (Number(style.opacity) < 1 || e.matches(":disabled, [aria-disabled=true]")) { skip = true; break; }
      const c = parse(style.backgroundColor);
      if (c && c[3] >= 0.99) { bg = c; break; }
    }
    if (skip || !bg) continue;
    const r = ratio(parse(getComputedStyle(el).color), bg);
    const what = `${el.className || el.tagName} "${el.textContent.trim().slice(0, 30)}"`;
    if (r < 4.5) failures.push(`${what}: ${r.toFixed(2)}`);
  }
  return failures;
}"""

NAMES_CHECK = """host => {
  const root = host.shadowRoot;
  const byIds = (ids) => (ids || "").split(" ").map((id) => root.getElementById(id)?.textContent || "");
  const name = (el) => el.getAttribute("aria-label") || byIds(el.getAttribute("aria-labelledby")).join(" ")
    || [...(el.labels || [])].map((l) => l.textContent).join(" ") || el.textContent;
  const live = ["status", "note", "alert"];
  return [...root.querySelectorAll("button, textarea, summary, a[href], [role]")]
    .filter((el) => el.getClientRects().length && !live.includes(el.getAttribute("role")))
    .filter((el) => !(name(el) || "").trim())
    .map((el) => el.outerHTML.slice(0, 80));
}"""


def assert_readable(page: Page) -> None:
    """Every visible text in the widget meets WCAG AA contrast, and every control has a name."""
    assert shadow_eval(page, CONTRAST_CHECK) == []
    assert shadow_eval(page, NAMES_CHECK) == []


def screenshot(page: Page, name: str) -> None:
    """Save the page to test-artifacts/, the conversation scrolled to the last question."""
    if page.locator("hipbot-chat").count() == 0:  # a page without the widget, such as /docs
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        return
    shadow_eval(
        page,
        """host => { const log = host.shadowRoot.querySelector(".log");
        const asked = [...log.querySelectorAll(".user")].pop();
        if (asked) log.scrollTop = asked.offsetTop - 12; }""",
    )
    page.wait_for_timeout(250)  # let transitions settle
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def fake_reply(**fields: Any) -> dict[str, Any]:
    """A reply in the API's shape, for answers the test controls."""
    reply: dict[str, Any] = {
        "answer": "An answer [1].",
        "passages": [],
        "safety": {"level": "none", "category": None, "message": None},
        "in_scope": True,
        "disclaimer": "General information, not medical advice.",
        "suggestions": [],
    }
    return {**reply, **fields}


# --------------------------------------------------------------------------- what a visitor sees


def test_question_is_answered_with_sources_and_disclaimer(new_page: Callable[..., Page]) -> None:
    page = new_page()
    expect(panel(page)).to_be_hidden()
    open_widget(page)
    chat = widget(page)
    expect(chat.get_by_role("dialog", name="Hip pain questions")).to_be_visible()
    expect(chat.locator(".disclaimer")).to_contain_text("not medical advice")
    expect(chat.locator(".chip")).to_have_count(3)
    assert_readable(page)

    chat.get_by_role("button", name="Why do my hips hurt after a long drive?").click()
    reply = chat.locator(".answer")
    expect(reply).to_have_count(1)
    expect(chat.locator(".user")).to_contain_text("Why do my hips hurt after a long drive?")
    expect(reply.locator(".cite").first).to_have_text("[1]")
    sources = reply.locator(".sources li")
    assert 1 <= sources.count() <= 5
    expect(sources.first.locator(".src-title")).not_to_be_empty()
    expect(sources.first.locator("blockquote")).to_be_hidden()
    sources.first.locator("summary").click()  # a source card expands to its passage
    expect(sources.first.locator("blockquote")).to_be_visible()
    expect(chat.locator(".disclaimer")).to_contain_text("not medical advice")
    expect(chat.locator(".chips .chip").first).to_be_visible()  # follow-up suggestions
    expect(chat.locator("[aria-live=polite]")).to_contain_text("The assistant answered")
    assert_readable(page)
    screenshot(page, "widget-desktop.png")

    sources.first.locator("summary").click()
    expect(sources.first.locator("blockquote")).to_be_hidden()
    reply.locator(".cite").first.click()  # a [1] marker opens source 1
    expect(sources.first.locator("blockquote")).to_be_visible()


def test_followup_sends_the_earlier_turns_as_history(new_page: Callable[..., Page], servers: Servers) -> None:
    page = new_page()
    open_widget(page)
    first = ask(page, "Is yoga a good idea for tight hip flexors?")
    first_answer = first.locator(".answer-text").inner_text()
    with page.expect_request(f"{servers.bot}/api/chat") as request:
        second = ask(page, "and what if my hips hurt after class?")
    body = request.value.post_data_json
    assert body["message"] == "and what if my hips hurt after class?"
    assert body["history"][0] == {"role": "user", "content": "Is yoga a good idea for tight hip flexors?"}
    assert body["history"][1]["role"] == "assistant"
    assert body["history"][1]["content"].startswith(first_answer[:40])
    expect(second.locator(".src-title", has_text="Yoga").first).to_be_visible()

    # A long conversation sends only the last 20 turns.
    page.evaluate(
        """() => {
        const key = Object.keys(sessionStorage)[0];
        const state = JSON.parse(sessionStorage.getItem(key));
        const answer = state.entries[1];
        const pair = (i) => [{role: "user", text: `question ${i}`}, answer];
        state.entries = Array.from({length: 15}, (_, i) => pair(i)).flat();
        sessionStorage.setItem(key, JSON.stringify(state));
        }"""
    )
    page.reload()
    expect(panel(page)).to_be_visible()
    with page.expect_request(f"{servers.bot}/api/chat") as request:
        ask(page, "how long should I hold a stretch?")
    history = request.value.post_data_json["history"]
    assert len(history) == 20
    assert history[0] == {"role": "user", "content": "question 5"}


def test_urgent_reply_is_an_alert_with_the_advice_only(new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_widget(page)
    reply = ask(page, "I fell and can't stand up on my leg")
    expect(reply).to_have_class(re.compile(r"\burgent\b"))
    expect(reply).to_have_attribute("role", "alert")
    expect(reply).to_contain_text("Call 911")
    assert reply.locator(".sources, .cite").count() == 0
    assert widget(page).locator(".chips").count() == 0
    assert_readable(page)
    screenshot(page, "widget-urgent.png")


def test_caution_comes_first_and_out_of_scope_is_a_short_note(new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_widget(page)
    caution = ask(page, "I'm pregnant and have pelvic pain, what stretches help?")
    expect(caution.locator(".caution")).to_contain_text("see your doctor soon")
    assert caution.locator(".sources li").count() >= 1
    texts = caution.locator(".caution, .answer-text").all_inner_texts()
    assert "see your doctor soon" in texts[0] and "see your doctor soon" not in texts[1]
    note = ask(page, "What is a good recipe for lasagna?")
    expect(note).to_have_class(re.compile(r"\bnote\b"))
    expect(note).to_contain_text("hip")
    assert note.locator(".sources").count() == 0
    assert_readable(page)


def test_api_docs_render_with_the_network_blocked(new_page: Callable[..., Page], servers: Servers) -> None:
    page = new_page(go=False)
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{servers.bot}/docs")
    expect(page.locator(".swagger-ui .title").first).to_contain_text("hipbot")
    expect(page.get_by_text("/api/chat").first).to_be_visible()
    assert outside == []
    screenshot(page, "docs-offline.png")


def test_partial_coverage_opens_with_a_note(new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_widget(page)
    reply = ask(page, "What's the best marathon taper plan for tight hip flexors?")
    note = reply.locator(".coverage-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("don't cover")
    expect(note).to_have_attribute("role", "note")
    assert reply.locator(".sources li").count() >= 1
    assert "don't cover" not in reply.locator(".answer-text").inner_text()
    assert_readable(page)
    screenshot(page, "widget-partial.png")


def test_server_text_is_shown_as_text_never_run(new_page: Callable[..., Page]) -> None:
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(page)
    ask(page, XSS)
    expect(widget(page).locator(".user")).to_contain_text(XSS)

    passages = [
        {"n": 1, "title": XSS, "section": XSS, "text": f"quoted {XSS}", "source": "x", "score": 1.0,
         "url": "javascript:alert(1)"},
        {"n": 2, "title": "Safe", "section": None, "text": "plain", "source": "y", "score": 0.5,
         "url": "https://example.com/article"},
    ]  # fmt: skip
    reply = fake_reply(answer=f"{XSS} [1] [2]", passages=passages, suggestions=[XSS], disclaimer=XSS)
    page.route("**/api/chat", lambda route: route.fulfill(json=reply))
    answer = ask(page, "show me")
    answer.locator("summary").first.click()
    for part in (
        answer.locator(".answer-text"),
        answer.locator(".src-title").first,
        answer.locator("blockquote").first,
    ):
        expect(part).to_contain_text(XSS)
    expect(widget(page).locator(".chip")).to_have_text(XSS)
    expect(widget(page).locator(".disclaimer")).to_contain_text(XSS)
    links = answer.locator("a[href]")
    expect(links).to_have_count(1)  # the javascript: URL is dropped, the https one kept
    expect(links).to_have_attribute("href", "https://example.com/article")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    page.reload()  # and again when the conversation is restored from sessionStorage
    expect(widget(page).locator(REPLIES)).to_have_count(2)
    page.wait_for_timeout(300)
    assert shadow_eval(page, "host => host.shadowRoot.querySelectorAll('img, script').length") == 0
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_keyboard_alone_opens_asks_reads_and_closes(new_page: Callable[..., Page]) -> None:
    page = new_page()
    for _ in range(40):  # Tab through the store page until the launcher has focus
        page.keyboard.press("Tab")
        if "launcher" in focused_class(page):
            break
    assert "launcher" in focused_class(page)
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    assert focused_class(page) == "TEXTAREA"
    page.keyboard.type("How should I sit with sciatica?")
    page.keyboard.press("Enter")
    expect(widget(page).locator(".answer")).to_have_count(1)
    for _ in range(20):  # back through the follow-ups to the last source card, then open it
        page.keyboard.press("Shift+Tab")
        if focused_class(page) == "SUMMARY":
            break
    assert focused_class(page) == "SUMMARY"
    page.keyboard.press("Enter")
    expect(widget(page).locator("details[open]")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert "launcher" in focused_class(page)
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(widget(page).locator(".answer")).to_have_count(1)  # the conversation is still there
    assert_readable(page)
    launcher(page).focus()
    page.keyboard.press("Escape")  # Escape works from the launcher too
    expect(panel(page)).to_be_hidden()


def test_long_questions_are_limited_with_a_counter(new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_widget(page)
    box = widget(page).get_by_role("textbox", name="Your question")
    counter = widget(page).locator(".counter")
    box.fill("a" * 1500)
    expect(counter).to_be_hidden()
    box.fill("a" * 1900)
    expect(counter).to_have_text("1,900 / 2,000 characters")
    box.fill("a" * 2100)
    assert len(box.input_value()) == 2000
    expect(counter).to_have_text("2,000 / 2,000 characters")
    expect(counter).to_have_class(re.compile(r"\bat-limit\b"))
    assert_readable(page)


def test_conversation_lives_in_session_storage_until_cleared(new_page: Callable[..., Page]) -> None:
    page = new_page()
    open_widget(page)
    ask(page, "How should I sit with sciatica?")
    stored = page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))")
    assert "How should I sit with sciatica?" in stored
    page.reload()  # a page change on the same site, same tab
    expect(panel(page)).to_be_visible()
    expect(widget(page).locator(".user")).to_have_text("You: How should I sit with sciatica?")
    expect(widget(page).locator(".answer")).to_have_count(1)
    assert page.evaluate("() => localStorage.length") == 0
    assert page.context.cookies() == []

    other_tab = page.context.new_page()  # sessionStorage belongs to the tab
    other_tab.goto(page.url)
    expect(launcher(other_tab)).to_be_visible()
    assert widget(other_tab).locator(".answer").count() == 0

    widget(page).get_by_role("button", name="Clear conversation").click()
    expect(widget(page).locator(".answer, .user")).to_have_count(0)
    expect(widget(page).locator(".chip")).to_have_count(3)  # the starter questions are back
    assert page.evaluate("() => sessionStorage.length") == 0
    page.reload()
    open_widget(page)
    expect(widget(page).locator(".answer, .user")).to_have_count(0)


def test_demo_page_works_under_a_strict_content_security_policy(
    new_page: Callable[..., Page], servers: Servers
) -> None:
    csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:"
    violations: list[str] = []

    def with_csp(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": csp})

    page = new_page(go=False)
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    page.route(f"{servers.bot}/", with_csp)
    page.goto(f"{servers.bot}/")
    open_widget(page)
    expect(ask(page, "How should I sit with sciatica?").locator(".sources li").first).to_be_visible()
    assert_readable(page)  # the widget's styles applied
    assert violations == []


# --------------------------------------------------------------------------- failures and recovery


def test_unreachable_or_failing_server_shows_an_error_and_retry_works(
    new_page: Callable[..., Page], servers: Servers
) -> None:
    page = new_page(f"{servers.allowed}/dead.html")  # data-api points at a port nobody listens on
    open_widget(page)
    widget(page).get_by_role("textbox", name="Your question").fill("How should I sit with sciatica?")
    widget(page).get_by_role("textbox", name="Your question").press("Enter")
    expect(widget(page).get_by_role("alert")).to_contain_text("can't reach the assistant")

    page = new_page()
    open_widget(page)
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    box = widget(page).get_by_role("textbox", name="Your question")
    box.fill("How should I sit with sciatica?")
    box.press("Enter")
    error = widget(page).locator(".error")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("can't reach the assistant")
    assert_readable(page)

    page.unroute("**/api/chat")
    page.route(
        "**/api/chat", lambda route: route.fulfill(status=500, json={"error": {"code": "internal_error"}})
    )
    error.get_by_role("button", name="Try again").click()
    expect(widget(page).locator(".error")).to_contain_text("Something went wrong")

    page.unroute("**/api/chat")  # the server is back
    widget(page).get_by_role("button", name="Try again").click()
    expect(widget(page).locator(".answer")).to_have_count(1)
    expect(widget(page).locator(".error")).to_have_count(0)
    expect(widget(page).locator(".user")).to_have_count(1)  # the question is not repeated

    invalid = {"error": {"code": "invalid_request", "message": "message: message is empty", "details": []}}
    page.route("**/api/chat", lambda route: route.fulfill(status=422, json=invalid))
    ask_box = widget(page).get_by_role("textbox", name="Your question")
    ask_box.fill("again")
    ask_box.press("Enter")
    expect(widget(page).locator(".error")).to_contain_text("couldn't be sent: message: message is empty")


def test_slow_server_times_out_with_a_typing_indicator_then_retry_works(
    new_page: Callable[..., Page], servers: Servers
) -> None:
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: the widget gives up after data-timeout="2"

    page = new_page(f"{servers.allowed}/slow.html")
    page.route("**/api/chat", hold_first)
    open_widget(page)
    widget(page).locator(".chip").first.click()
    expect(widget(page).locator(".typing")).to_be_visible()
    expect(widget(page).locator(".typing")).to_have_attribute("role", "status")
    expect(widget(page).locator(".error")).to_contain_text("taking too long", timeout=10_000)
    expect(widget(page).locator(".typing")).to_have_count(0)
    widget(page).get_by_role("button", name="Try again").click()
    expect(widget(page).locator(".answer")).to_have_count(1)


# --------------------------------------------------------------------------- another origin, a phone


def test_widget_on_another_origin_works_when_allowed_and_explains_when_not(
    new_page: Callable[..., Page], servers: Servers
) -> None:
    page = new_page(f"{servers.allowed}/store.html")
    chat = widget(page)
    box = launcher(page).bounding_box()
    assert box is not None and box["x"] < 100  # data-position="left"
    styles = launcher(page).evaluate(
        "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.fontFamily, s.textTransform]; }"
    )
    assert styles[0] == "rgb(124, 58, 237)"  # data-accent, not the store's hotpink buttons
    assert "Comic" not in styles[1] and styles[2] == "none"
    open_widget(page)
    expect(chat.get_by_role("heading", name="Shop helper")).to_be_visible()
    expect(chat.locator(".msg.bot").first).to_have_text("Hello from the shop: ask about your hips.")
    expect(chat.locator(".chip")).to_have_count(2)
    chat.get_by_role("button", name="How should I sit with sciatica?").click()
    expect(chat.locator(".answer")).to_have_count(1)
    expect(chat.locator(".answer .sources li").first).to_be_visible()
    assert page.locator(".store-text").evaluate("el => getComputedStyle(el).color") == "rgb(255, 0, 0)"
    assert_readable(page)
    screenshot(page, "widget-other-origin.png")

    refused = new_page(f"{servers.refused}/store.html")
    console: list[str] = []
    refused.on("console", lambda message: console.append(message.text))
    open_widget(refused)
    widget(refused).get_by_role("button", name="How should I sit with sciatica?").click()
    expect(widget(refused).get_by_role("alert")).to_contain_text("the chat is unavailable on this page")
    expect(widget(refused).get_by_role("button", name="Try again")).to_have_count(0)
    assert widget(refused).locator(".answer").count() == 0
    assert any("HIPBOT_ALLOWED_ORIGINS" in line and servers.refused in line for line in console), console
    logged = servers.log.read_text(encoding="utf-8")
    assert f"browser origin {servers.refused}" in logged and "HIPBOT_ALLOWED_ORIGINS" in logged
    assert logged.count(f"browser origin {servers.refused}") == 1  # once per origin


def test_phone_screen_panel_fills_the_screen_and_the_page_stays_put(new_page: Callable[..., Page]) -> None:
    page = new_page(viewport=PHONE)
    assert page.evaluate("() => document.documentElement.scrollHeight") > PHONE["height"]
    open_widget(page)
    assert panel(page).bounding_box() == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
    expect(panel(page)).to_have_attribute("aria-modal", "true")
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "hidden"
    ask(page, "Which stretches help tight hip flexors?")
    widget(page).locator(".sources summary").first.click()
    assert_readable(page)
    screenshot(page, "widget-phone.png")
    page.mouse.move(200, 400)
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.scrollY") == 0
    for _ in range(25):  # Tab stays inside the full-screen panel
        page.keyboard.press("Tab")
        assert focused_class(page), "focus left the full-screen panel"

    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert "launcher" in focused_class(page)
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflow") == "visible"
    page.mouse.wheel(0, 400)
    page.wait_for_function("() => window.scrollY > 0")
