"""The playground's routes in process: its headers, the token it does not need, the off switch.
The page itself is driven in a real browser by tests/browser."""

from __future__ import annotations

import falcon.testing
import pytest

from snekbox import settings as settings_module
from snekbox.api.app import create_app
from snekbox.api.resources.playground import ASSETS, CONTENT_SECURITY_POLICY, PATHS
from tests.http.test_answers import FakeJobs


def app(**environ: str) -> falcon.testing.TestClient:
    settings = settings_module.load({"SNEKBOX_MAX_BODY_SIZE": "200000", **environ})
    return falcon.testing.TestClient(create_app(FakeJobs(settings), settings))


@pytest.mark.parametrize("path", ["/playground", *(f"/playground/{name}" for name in ASSETS)])
def test_every_file_of_the_page_carries_the_strict_policy(path):
    answer = app().simulate_get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in answer.headers
    expected = ASSETS.get(path.rsplit("/", 1)[-1], "text/html; charset=utf-8")
    assert answer.headers["Content-Type"] == expected


def test_the_policy_allows_nothing_from_elsewhere():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in CONTENT_SECURITY_POLICY


def test_the_root_leads_to_the_page():
    answer = app().simulate_get("/")
    assert (answer.status_code, answer.headers["Location"]) == (302, "playground")


def test_only_the_page_files_are_served():
    assert app().simulate_get("/playground/../settings.py").status_code == 404
    assert app().simulate_get("/playground/playground.html").status_code == 404


def test_the_page_needs_no_token_but_the_api_does():
    http = app(SNEKBOX_API_TOKENS="s3cret")
    for path in PATHS:
        assert http.simulate_get(path).status_code in (200, 302), path
    assert http.simulate_get("/runtimes").status_code == 401
    assert http.simulate_post("/eval", json={"input": "1"}).status_code == 401


def test_the_off_switch_removes_the_page():
    http = app(SNEKBOX_PLAYGROUND="false", SNEKBOX_API_TOKENS="s3cret")
    for path in PATHS:
        # No longer open: like any other path, it asks for the token first.
        assert http.simulate_get(path).status_code == 401, path
    http = app(SNEKBOX_PLAYGROUND="false")
    for path in PATHS:
        assert http.simulate_get(path).status_code == 404, path
    assert http.simulate_get("/runtimes").status_code == 200
