"""The playground page in a real Chromium against a real snekbox server: code runs, answers
show as a terminal would, files and images come back, and nothing a job prints becomes markup."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import open_playground


def run(page: Page, code: str, stdin: str = "") -> None:
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_label("Standard input").fill(stdin)
    page.get_by_role("button", name="Run").click()


def test_hello_world_shows_its_output_and_the_ok_badge(watched, playground):
    page = open_playground(watched, playground)
    run(page, "print('Hello, world!')")
    expect(page.locator("#badge")).to_have_text("ok")
    expect(page.locator("#output")).to_have_text("Hello, world!\n")
    expect(page.locator("#details")).to_contain_text("return code 0")
