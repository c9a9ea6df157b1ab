"""A job's files opened as pages of their own (a new tab, as "Open image in new tab" or a
middle click on the download link would): none may run script in the playground's origin."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_playground, url_of
from tests.browser.test_playground import run, verdict

SCRIPT = "<script>alert(origin)</script>"
SVG = f'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">{SCRIPT}</svg>'


@pytest.mark.parametrize("selector", ["#returned-files img", "#returned-files a"])
def test_a_job_file_opened_in_a_tab_runs_no_script_of_the_page(watched, playground, selector):
    page = open_playground(watched, playground)
    run(page, f"open('evil.svg', 'w').write({SVG!r})\nopen('evil.html', 'w').write({SCRIPT!r})")
    verdict(page, "ok")
    urls = page.locator(selector).evaluate_all("es => es.map(e => e.src || e.href)")
    assert len(urls) == (1 if "img" in selector else 2)
    tab = page.context.new_page()
    origins: list[str] = []
    tab.on("dialog", lambda dialog: (origins.append(dialog.message), dialog.dismiss()))
    for url in urls:
        try:
            tab.goto(url)
        except Exception as error:  # a download starts instead of a page: nothing runs
            assert "Download is starting" in str(error)
    assert url_of(playground, "") not in origins
