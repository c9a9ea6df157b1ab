"""Every refusal of the HTTP layer, in process: falcon's test client and a fake job runner,
so these need no root, no jail and no server, and run in seconds. What happens once a job
runs is tested against the real jail and a real server elsewhere."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import falcon.testing
import pytest

from snekbox import settings as settings_module
from snekbox.api.app import create_app
from snekbox.jail import Runtime
from snekbox.jobs import Overloaded, RequestParser
from snekbox.jobs.request import schema
from snekbox.limits import JobLimits
from snekbox.result import EvalResult, Status
from tests.helpers import b64

JSON = {"Content-Type": "application/json"}


class FakeJobs:
    """What the HTTP layer asks of Jobs, without a jail: a spec 'runs' by being kept."""

    def __init__(self, settings: settings_module.Settings):
        runtime = Runtime("default", Path("/usr/bin/python3"), Path("/usr"), "3.11.2", "3.11")
        self.runtimes = {"default": runtime}
        self.requests = RequestParser(settings, self.runtimes)
        self.busy = False
        self.specs: list = []

    def slot(self) -> contextlib.AbstractContextManager[None]:
        if self.busy:
            raise Overloaded("1 jobs are running and 0 waiting")
        return contextlib.nullcontext()

    def run_in_slot(self, spec) -> EvalResult:
        self.specs.append(spec)
        return EvalResult(
            stdout="ran\n", returncode=0, status=Status.OK, duration=0.01, truncated=False, files=()
        )


@pytest.fixture(scope="module")
def settings():
    return settings_module.load({"SNEKBOX_MAX_BODY_SIZE": "200000"})


@pytest.fixture
def jobs(settings):
    return FakeJobs(settings)


@pytest.fixture
def http(jobs, settings):
    return falcon.testing.TestClient(create_app(jobs, settings))


def post(http, document=None, raw: bytes | None = None, headers=JSON):
    body = raw if raw is not None else json.dumps(document).encode()
    return http.simulate_post("/eval", body=body, headers=headers)


def refused(result, status: int, *words: str) -> str:
    assert result.status_code == status, (result.status_code, result.text)
    assert set(result.json) == {"title", "description"}
    for word in words:
        assert word in result.json["description"], result.json
    return result.json["description"]


def test_a_valid_request_becomes_a_typed_spec(http, jobs, settings):
    result = post(
        http,
        {
            "input": "print(1)",
            "args": ["-X", "dev", "-c"],
            "stdin": "é",
            "files": [{"path": "a/b.py", "content": b64("x = 1")}],
            "limits": {"time": 2},
            "version": "default",
        },
    )
    assert (result.status_code, result.json["stdout"]) == (200, "ran\n")
    [spec] = jobs.specs
    assert spec.args == ("-X", "dev", "-c", "print(1)")  # input goes after args
    assert spec.stdin == "é".encode()
    assert [(f.path, f.content) for f in spec.files] == [("a/b.py", b"x = 1")]
    assert spec.limits == JobLimits(
        time=2.0,
        memory=settings.memory_limit,
        output=settings.output_limit,
        processes=settings.process_limit,
    )
    assert spec.runtime is jobs.runtimes["default"]


@pytest.mark.parametrize(
    "document,words",
    [
        ({}, ["nothing to run", "'input' or 'args'"]),
        ({"args": []}, ["nothing to run"]),
        ({"input": "pass", "limit": {"time": 1}}, ["unknown fields", "'limit'"]),
        ({"input": "pass", "limits": {"tiem": 1}}, ["limits", "'tiem'"]),
        ({"input": "pass", "limits": {"time": 31}}, ["limits/time", "30"]),
        ({"input": "pass", "limits": {"memory": 1}}, ["limits/memory"]),
        ({"input": 3}, ["input", "not of type 'string'"]),
        ({"input": "pass", "files": [{"path": "/etc/passwd"}]}, ["relative to /home"]),
        ({"input": "pass", "files": [{"path": "a/../../b"}]}, ["inside /home"]),
        ({"input": "pass", "files": [{"path": "a", "content": "@@"}]}, ["not valid base64"]),
        ({"input": "pass", "files": [{"path": "a"}, {"path": "a"}]}, ["only once"]),
        ({"input": "pass", "files": [{"path": str(i)} for i in range(1001)]}, ["1001 items"]),
        ({"input": "pass", "version": "2.7"}, ["unknown version '2.7'", "default"]),
        ({"input": "pass", "executable_path": "/usr/bin/python3"}, ["unknown executable_path"]),
        ({"input": "pass", "version": "default", "executable_path": "x"}, ["not both"]),
        ({"args": ["-c", "a\0b"]}, ["NUL"]),
        ({"input": "x" * 131072}, ["131072 bytes", "files"]),
        ([1, 2], ["the body"]),
    ],
)
def test_a_bad_request_is_400_with_the_reason(http, jobs, document, words):
    refused(post(http, document), 400, *words)
    assert jobs.specs == []


@pytest.mark.parametrize(
    "raw,words",
    [
        (b'{"input": "pass"', ["not valid JSON"]),
        (b'{"input": "pass", "limits": {"time": NaN}}', ["NaN is not a JSON number"]),
        (b"\xff\xfe", ["not valid JSON"]),
    ],
)
def test_a_body_that_is_not_json_is_400(http, raw, words):
    refused(post(http, raw=raw), 400, *words)


def test_other_content_types_are_415(http):
    result = post(http, raw=b"print(1)", headers={"Content-Type": "text/plain"})
    refused(result, 415, "application/json", "text/plain")


def test_a_body_over_the_maximum_is_413(http):
    refused(post(http, raw=b" " * 200001), 413, "200000 bytes", "SNEKBOX_MAX_BODY_SIZE")


def test_a_body_of_too_many_values_is_413_before_parsing(http):
    refused(
        post(http, raw=json.dumps({"input": "pass", "x": [[]] * 20000}).encode()),
        413,
        "commas and brackets",
    )


def test_stdin_over_the_maximum_is_413(http, settings):
    small = falcon.testing.TestClient(
        create_app(FakeJobs(settings_module.load({"SNEKBOX_MAX_STDIN": "10"})), settings)
    )
    result = post(small, {"input": "pass", "stdin": "x" * 11})
    refused(result, 413, "at most 10 bytes")
    assert result.json["title"] == "stdin too large"


def test_no_free_slot_is_503_with_retry_after_but_a_bad_request_is_still_400(http, jobs):
    jobs.busy = True
    result = post(http, {"input": "pass"})
    refused(result, 503, "try again shortly", "1 jobs are running")
    assert result.headers["Retry-After"] == "1"
    refused(post(http, {"input": "pass", "version": "nope"}), 400, "unknown version")


def test_other_methods_are_405(http):
    refused(http.simulate_get("/eval"), 405, "GET is not allowed", "POST")


def test_tokens_are_required_when_configured(jobs):
    secured = settings_module.load({"SNEKBOX_API_TOKENS": "secret"})
    http = falcon.testing.TestClient(create_app(jobs, secured))
    refused(post(http, {"input": "pass"}), 401)
    ok = post(http, {"input": "pass"}, headers={**JSON, "Authorization": "Bearer secret"})
    assert ok.status_code == 200


def test_openapi_publishes_the_schema_that_validates(http, settings):
    document = http.simulate_get("/openapi.json").json
    body = document["paths"]["/eval"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == json.loads(json.dumps(schema(settings)))
    assert set(document["paths"]["/eval"]["post"]["responses"]) == {
        "200",
        "400",
        "413",
        "415",
        "503",
    }
