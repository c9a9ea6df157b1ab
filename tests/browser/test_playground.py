"""The playground page in a real Chromium against a real snekbox server: code runs, answers
show as a terminal would, files and images come back, and nothing a job prints becomes markup."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from snekbox.api.resources.playground import CONTENT_SECURITY_POLICY
from tests.browser.conftest import ROOT, open_playground, url_of
from tests.conftest import start_server, stop_server

XSS = "<img src=x onerror=alert(1)>"
PLOT = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.plot([1, 3, 2, 4], marker="o")
plt.title("snekbox")
plt.savefig("plot.png")
print("saved plot.png")
"""
SCREENSHOT = ROOT / "docs" / "playground.png"


def run(page: Page, code: str, stdin: str = "") -> None:
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Standard input").fill(stdin)
    page.get_by_role("button", name="Run", exact=True).click()


def verdict(page: Page, badge: str) -> None:
    """Wait for the run to end with this badge."""
    expect(page.locator("#badge")).to_have_text(badge, timeout=30_000)


@pytest.mark.parametrize(
    "code,limits,badge,output,details",
    [
        ("print('Hello, world!')", {}, "ok", "Hello, world!\n", "return code 0 · "),
        ("print('before')\n1 / 0", {}, "error", "before\nTraceback", "return code 1 · "),
        ("while True: pass", {"Time (seconds)": "1"}, "timeout", "", "137 · signal SIGKILL"),
        ("x = bytearray(1 << 30)", {}, "out of memory", "", "137 · signal SIGKILL"),
    ],
    ids=["ok", "traceback", "endless-loop", "memory"],
)
def test_the_verdict_shows_as_a_badge(watched, playground, code, limits, badge, output, details):
    page = open_playground(watched, playground)
    if limits:
        page.get_by_text("Limits and files").click()
    for label, value in limits.items():
        page.get_by_label(label).fill(value)
    run(page, code)
    verdict(page, badge)
    assert page.locator("#output").text_content().startswith(output)
    expect(page.locator("#details")).to_contain_text(details)
    expect(page.locator("#truncated")).to_be_hidden()
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()


def test_a_refused_request_says_why(watched, playground):
    page = open_playground(watched, playground)
    page.get_by_text("Limits and files").click()
    page.get_by_label("Time (seconds)").fill("1000")
    run(page, "print(1)")
    verdict(page, "not run")
    expect(page.locator("#details")).to_contain_text("400 Invalid request: limits/time")


def test_stdin_reaches_input(watched, playground):
    page = open_playground(watched, playground)
    run(page, "name = input()\nprint(f'hello {name[::-1]}')", stdin="xobkens\n")
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text("hello snekbox\n")


def test_keyboard_alone_indents_and_runs(watched, playground):
    page = open_playground(watched, playground)
    editor = page.get_by_label("Code", exact=True)
    editor.fill("")
    editor.press_sequentially("for i in range(2):\n")
    editor.press("Tab")
    editor.press_sequentially("print(i)")
    expect(editor).to_have_value("for i in range(2):\n    print(i)")
    expect(page.locator("#gutter")).to_have_text("1\n2")
    editor.press("Control+Enter")
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text("0\n1\n")
    # Tab and Shift+Tab indent and dedent every selected line.
    editor.press("Control+a")
    editor.press("Tab")
    expect(editor).to_have_value("    for i in range(2):\n        print(i)")
    editor.press("Shift+Tab")
    expect(editor).to_have_value("for i in range(2):\n    print(i)")
    # Escape, then Tab leaves the editor: the keyboard is never trapped in it.
    editor.press("Escape")
    editor.press("Tab")
    expect(editor).not_to_be_focused()


def test_output_limit_says_the_output_was_cut(watched, playground):
    page = open_playground(watched, playground)
    page.get_by_text("Limits and files").click()
    page.get_by_label("Output (bytes)").fill("1000")
    run(page, "while True: print('x' * 100)")
    verdict(page, "output limit")
    expect(page.locator("#truncated")).to_be_visible()
    assert len(page.locator("#output").text_content()) == 1000


def test_a_matplotlib_plot_appears_as_an_image(watched, playground):
    page = open_playground(watched, playground)
    page.get_by_text("Limits and files").click()
    page.get_by_label("Time (seconds)").fill("25")  # importing matplotlib on a busy machine
    page.get_by_text("Limits and files").click()
    run(page, PLOT)
    verdict(page, "ok")
    image = page.get_by_role("img", name="image plot.png")
    expect(image).to_be_visible()
    # Decoded as a picture, not a broken image.
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100
    page.screenshot(path=SCREENSHOT)


def test_a_file_written_by_the_job_can_be_downloaded(watched, playground):
    page = open_playground(watched, playground)
    run(page, "import os\nos.mkdir('out')\nopen('out/data.csv', 'w').write('a,b\\n1,2\\n')")
    verdict(page, "ok")
    item = page.locator("#returned-files li")
    expect(item).to_have_text("out/data.csv 8 B")
    with page.expect_download() as download:
        page.get_by_role("link", name="out/data.csv").click()
    assert download.value.suggested_filename == "data.csv"
    assert open(download.value.path(), "rb").read() == b"a,b\n1,2\n"


def test_uploaded_files_reach_the_job(watched, playground):
    page = open_playground(watched, playground)
    page.get_by_text("Limits and files").click()
    page.get_by_label("Input files").set_input_files(
        {"name": "data.bin", "mimeType": "application/octet-stream", "buffer": bytes(range(256))}
    )
    run(page, "print(open('data.bin', 'rb').read() == bytes(range(256)))")
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text("True\n")


def test_the_runtime_picker_lists_the_runtimes(watched, playground):
    page = open_playground(watched, playground)
    runtimes = playground.get("/runtimes").json["runtimes"]
    options = page.locator("#runtime option")
    expect(options).to_have_count(len(runtimes))
    assert options.evaluate_all("os => os.map(o => o.value)") == [r["name"] for r in runtimes]
    default = next(r["name"] for r in runtimes if r["default"])
    expect(page.get_by_label("Runtime")).to_have_value(default)


def test_job_output_and_file_names_stay_text(watched, playground):
    page = open_playground(watched, playground)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="alert(2)">'
        '<script>alert(3)</script><rect width="40" height="40" fill="red"/></svg>'
    )
    code = f"print({XSS!r})\nopen({XSS!r}, 'w').write('x')\nopen('evil.svg', 'w').write({svg!r})\n"
    run(page, code)
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text(XSS + "\n")
    expect(page.locator("#output img")).to_have_count(0)
    expect(page.get_by_role("link", name=XSS)).to_be_visible()
    # The SVG shows, through an <img>, where its script cannot run.
    svg_image = page.get_by_role("img", name="image evil.svg")
    expect(svg_image).to_be_visible()
    assert svg_image.evaluate("img => img.complete && img.naturalWidth") == 40
    assert page.locator("img:not(#returned-files img)").count() == 0
    # The watched fixture checks that no alert fired.


def test_the_share_link_restores_code_and_stdin(watched, playground, browser):
    page = open_playground(watched, playground)
    code = "print(input() + ' & ' + '#?=%')\n# a comment with spaces"
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Standard input").fill("shared stdin")
    page.get_by_role("button", name="Share link").click()
    expect(page.locator("#share-status")).not_to_be_empty()
    link = page.url
    assert "#" in link
    other = browser.new_context()
    try:
        opened = other.new_page()
        opened.goto(link)
        expect(opened.get_by_label("Code", exact=True)).to_have_value(code)
        expect(opened.get_by_label("Standard input")).to_have_value("shared stdin")
        opened.get_by_role("button", name="Run", exact=True).click()
        verdict(opened, "ok")
        expect(opened.locator("#output")).to_have_text("shared stdin & #?=%\n")
    finally:
        other.close()


def test_stop_aborts_the_run(watched, playground):
    page = open_playground(watched, playground)
    run(page, "import time\ntime.sleep(3)\nprint('not shown')")
    expect(page.locator("#badge")).to_have_text("running…")
    page.get_by_role("button", name="Stop").click()
    verdict(page, "stopped")
    expect(page.locator("#output")).to_be_empty()
    # The page is ready for the next run at once.
    run(page, "print('next')")
    verdict(page, "ok")


def test_the_page_reads_an_event_stream_answer(watched, playground):
    """The streamed answer's format (see the protocol in README), as the server's bytes would
    come: output events, split anywhere, then the result. Given by the test, so this holds
    whether the server streams or not."""
    page = open_playground(watched, playground)
    result = {
        "stdout": "one\ntwo\n",
        "returncode": 0,
        "status": "ok",
        "signal": None,
        "duration": 0.5,
        "truncated": False,
        "files": [],
    }
    events = [("output", {"text": "one\n"}), ("output", {"text": "two\n"}), ("result", result)]
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    page.route(
        "**/eval",
        lambda route: route.fulfill(
            status=200, headers={"Content-Type": "text/event-stream"}, body=body
        ),
    )
    run(page, "ignored")
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text("one\ntwo\n")


def test_output_appears_while_the_job_runs(watched, playground):
    page = open_playground(watched, playground)
    run(page, "import time\nprint('first')\ntime.sleep(2)\nprint('second')")
    # An answer sent whole would show both lines at once, never the first alone.
    expect(page.locator("#output")).to_have_text("first\n", timeout=30_000)
    expect(page.locator("#badge")).to_have_text("running…")
    verdict(page, "ok")
    expect(page.locator("#output")).to_have_text("first\nsecond\n")


def test_the_page_is_usable_on_a_phone(browser, playground):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(url_of(playground, "/"))
        run(page, "print('small screen')")
        verdict(page, "ok")
        expect(page.get_by_role("button", name="Run", exact=True)).to_be_in_viewport()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, "the page scrolls sideways on a phone"
    finally:
        context.close()


def test_every_control_has_a_label(watched, playground):
    page = open_playground(watched, playground)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => !(e.labels?.length || e.getAttribute('aria-label') ||
                           (e.tagName === 'BUTTON' && e.textContent.trim())))
            .map(e => e.id)"""
    )
    assert unlabelled == []


def test_a_token_is_asked_for_when_the_service_needs_one(browser):
    proc, client = start_server({"SNEKBOX_API_TOKENS": "s3cret", "SNEKBOX_POOL_SIZE": "0"})
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url_of(client, "/"))
        expect(page.get_by_role("heading", name="This server needs a token")).to_be_visible()
        expect(page.get_by_label("API token")).to_be_focused()
        page.get_by_label("API token").fill("s3cret")
        page.get_by_role("button", name="Use token").click()
        expect(page.locator("#auth")).to_be_hidden()
        run(page, "print('authorised')")
        verdict(page, "ok")
        expect(page.locator("#output")).to_have_text("authorised\n")
        # Kept for this tab's session only; never a cookie or lasting storage.
        assert page.evaluate("sessionStorage.length") == 1
        assert page.evaluate("localStorage.length") == 0
        assert context.cookies() == []
    finally:
        context.close()
        stop_server(proc)


def test_the_page_and_its_files_carry_a_strict_policy(watched, playground):
    page = watched.page
    loaded = []
    page.on("response", lambda response: loaded.append(response))
    open_playground(watched, playground)
    page_files = [r for r in loaded if "/playground" in r.url]
    assert {r.url.rsplit("/", 1)[-1] for r in page_files} == {
        "playground",
        "playground.css",
        "playground.js",
    }
    for response in page_files:
        headers = response.all_headers()
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in headers


def test_the_off_switch_gives_404(browser):
    proc, client = start_server({"SNEKBOX_PLAYGROUND": "false", "SNEKBOX_POOL_SIZE": "0"})
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("/", "/playground", "/playground/playground.js"):
            assert page.goto(url_of(client, path)).status == 404, path
        assert client.eval(input="print(1)")["stdout"] == "1\n"
    finally:
        context.close()
        stop_server(proc)
