"""A real Chromium (Debian's, installed by scripts/setup) driven by Playwright against real
snekbox servers. Playwright never downloads a browser of its own here."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.conftest import start_server, stop_server
from tests.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
HTTP_ERROR_LOGGED = "Failed to load resource: the server responded with a status of"


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup, which installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def playground(job_packages) -> Client:
    """A server whose jobs can import matplotlib, numpy and the like."""
    proc, client = start_server({"SNEKBOX_PACKAGES": f"default={job_packages}"})
    yield client
    stop_server(proc)


def url_of(client: Client, path: str = "/") -> str:
    return f"http://{client.host}:{client.port}{path}"


class Watched:
    """A page whose dialogs (alert, prompt, ...) and script errors are recorded: a job's
    output must never make one."""

    def __init__(self, page: Page):
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        # A 4xx answer is logged too; the page shows those itself.
        if message.type == "error" and not message.text.startswith(HTTP_ERROR_LOGGED):
            self.errors.append(message.text)


@pytest.fixture
def watched(browser):
    """A fresh browser context (no storage, no cookies) and its watched page; after the test,
    no dialog fired and the page logged no error (a CSP refusal logs one)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    yield watched
    context.close()
    assert watched.dialogs == []
    assert watched.errors == []


def open_playground(watched: Watched, client: Client, fragment: str = "") -> Page:
    page = watched.page
    page.goto(url_of(client, "/") + fragment)
    page.locator("#runtime option").first.wait_for(state="attached")
    return page
