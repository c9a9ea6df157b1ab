"""With tokens, only the playground's own files (and /health) answer without one, however
the path is spelled: a real gunicorn server, so that its parsing of the path is the one
tested, sent raw by http.client (which sends a path as given)."""

from __future__ import annotations

import pytest

from tests.conftest import start_server, stop_server

SPELLINGS = [
    "/playground/../runtimes",
    "/playground/..%2fruntimes",
    "/playground%2f..%2fruntimes",
    "//runtimes",
    "/runtimes/",
    "/playground/playground.js/../../runtimes",
    "/playground/./../openapi.json",
    "/playground/%2e%2e/metrics",
    "/./metrics",
    "/PLAYGROUND",
    "/playground/playground.html",
    "/playground/static/playground.js",
    "/playground/..",
    "http://127.0.0.1/runtimes",
]


@pytest.fixture(scope="module")
def guarded():
    proc, client = start_server({"SNEKBOX_API_TOKENS": "secret"})
    yield client
    stop_server(proc)


@pytest.mark.parametrize("path", SPELLINGS)
def test_no_other_path_opens_without_the_token(guarded, path):
    assert guarded.request("GET", path).status == 401


@pytest.mark.parametrize("path", ["/eval", "/playground/../eval", "/playground/eval"])
def test_no_job_runs_without_the_token(guarded, path):
    answer = guarded.request(
        "POST", path, b'{"input": "print(1)"}', {"Content-Type": "application/json"}
    )
    assert answer.status == 401


def test_the_page_itself_is_open(guarded):
    for path in ("/playground", "/playground/playground.js", "/playground/playground.css"):
        assert guarded.request("GET", path).status == 200, path
