"""Request and response additions, runtimes, packages and operations, through real servers."""

import glob
import json
import subprocess
import time

import pytest

from tests.conftest import ROOT, server_log, start_server, stop_server


def pyenv_python(version: str) -> str | None:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    return found[-1] if found else None


EXTRA_RUNTIMES = {v: pyenv_python(v) for v in ("3.12", "3.13")}


@pytest.fixture(scope="module")
def packages_dir(tmp_path_factory):
    """A read-only packages environment made the documented way (scripts/packages)."""
    directory = tmp_path_factory.mktemp("packages")
    subprocess.run(
        [ROOT / "scripts" / "packages", str(directory), "numpy"],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return directory


@pytest.fixture(scope="module")
def rich(packages_dir):
    """A server with every available extra runtime and numpy for the default one."""
    runtimes = ",".join(f"{name}={path}" for name, path in EXTRA_RUNTIMES.items() if path)
    proc, client = start_server(
        {"SNEKBOX_RUNTIMES": runtimes, "SNEKBOX_PACKAGES": f"default={packages_dir}"}
    )
    yield client
    stop_server(proc)


def test_stdin_feeds_input(client):
    body = client.eval(
        input="name = input(); print(f'hello {name}'); print(input())", stdin="snek\nsecond line\n"
    )
    assert body["stdout"] == "hello snek\nsecond line\n"


def test_no_stdin_means_eof(client):
    body = client.eval(input="input()")
    assert body["returncode"] == 1
    assert "EOFError" in body["stdout"]


def test_stdin_over_the_cap_is_refused(client, settings):
    resp = client.post("/eval", {"input": "pass", "stdin": "x" * (settings.max_stdin + 1)})
    assert resp.status == 413
    assert str(settings.max_stdin) in resp.json["description"]


@pytest.mark.parametrize("name", ["time", "memory", "output"])
def test_limit_over_maximum_is_400_naming_field_and_maximum(client, settings, name):
    maximum = getattr(settings, f"max_{name}_limit")
    resp = client.post("/eval", {"input": "pass", "limits": {name: maximum + 1}})
    assert resp.status == 400
    assert f"limits/{name}" in resp.json["description"]
    assert str(maximum) in resp.json["description"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("where", ["time", "memory", "output"])
def test_non_json_numbers_are_400(client, constant, where):
    """Python's json parser takes NaN and Infinity; NaN passes every bound of the schema."""
    body = f'{{"input": "print(1)", "limits": {{"{where}": {constant}}}}}'.encode()
    resp = client.request("POST", "/eval", body, {"Content-Type": "application/json"})
    assert resp.status == 400, resp.body
    assert constant.lstrip("-") in resp.json["description"]


def test_memory_limit_per_request(client):
    code = "x = bytearray(80 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); print('ok')"
    assert client.eval(input=code)["status"] == "oom"
    assert client.eval(input=code, limits={"memory": 200 * 1024 * 1024})["stdout"] == "ok\n"


def test_output_limit_per_request(client):
    body = client.eval(input="print('a' * 100)", limits={"output": 10})
    assert (body["stdout"], body["truncated"], body["status"]) == ("a" * 10, True, "output_limit")


@pytest.mark.parametrize(
    "code,status,returncode,signal",
    [
        ("print('fine')", "ok", 0, None),
        ("raise SystemExit(2)", "error", 2, None),
        ("import time; time.sleep(10)", "timeout", 137, "SIGKILL"),
        ("x = bytearray(1 << 30)", "oom", 137, "SIGKILL"),
        ("while True: print('flood')", "output_limit", 143, "SIGTERM"),
        ("import ctypes; ctypes.string_at(0)", "signal", 139, "SIGSEGV"),
    ],
)
def test_each_status(client, code, status, returncode, signal):
    # A small output cap: the flood reaches it well within the time limit, even on a busy machine.
    body = client.eval(input=code, limits={"time": 1, "output": 10000})
    assert (body["status"], body["returncode"], body["signal"]) == (status, returncode, signal)
    assert body["truncated"] is (status == "output_limit")


def test_internal_error_status_and_unhealthy_server(tmp_path):
    broken = tmp_path / "broken.cfg"
    broken.write_text("this is not an nsjail config\n")
    proc, client = start_server({"SNEKBOX_NSJAIL_CONFIG": str(broken)}, wait_healthy=False)
    try:
        body = client.eval(input="print(1)")
        assert (body["status"], body["returncode"]) == ("internal_error", 255)
        health = client.get("/health")
        assert health.status == 503
        assert health.json["status"] == "unavailable"
    finally:
        stop_server(proc)


def test_health_reports_a_real_run(client):
    resp = client.get("/health")
    assert resp.status == 200
    assert resp.json["status"] == "ok"


def test_runtimes_lists_the_default(client):
    runtimes = client.get("/runtimes").json["runtimes"]
    default = [r for r in runtimes if r["default"]]
    assert [r["name"] for r in default] == ["default"]
    assert default[0]["executable_path"] == "/snekbin/python/default/bin/python"
    import platform

    assert default[0]["version"] == platform.python_version()


@pytest.mark.parametrize("version", sorted(EXTRA_RUNTIMES))
def test_extra_runtime_by_version_and_by_path(rich, version):
    if not EXTRA_RUNTIMES[version]:
        pytest.skip(f"no Python {version} on this machine")
    listed = {r["name"]: r for r in rich.get("/runtimes").json["runtimes"]}
    assert listed[version]["version"].startswith(version + ".")
    code = "import sys; print('%d.%d' % sys.version_info[:2], sys.flags.isolated, sys.executable)"
    path = f"/snekbin/python/{version}/bin/python"
    by_version = rich.eval(input=code, version=version)
    by_path = rich.eval(input=code, executable_path=path)
    assert by_version["stdout"] == by_path["stdout"] == f"{version} 1 {path}\n"
    files = [
        {"path": "m.py", "content": "aW1wb3J0IGggYXMgXzsgcHJpbnQoXy5YKQ=="},  # import h...
        {"path": "h.py", "content": "WCA9IDQy"},
    ]  # X = 42
    assert rich.eval(args=["m.py"], files=files, version=version)["stdout"] == "42\n"
    assert rich.eval(input="import os; os.fork()", version=version)["returncode"] == 1
    surrogate = rich.eval(input="print(chr(0xdce6))", version=version)
    assert surrogate["returncode"] == 1
    assert "UnicodeEncodeError" in surrogate["stdout"]


def test_version_and_executable_path_together_is_400(client):
    resp = client.post(
        "/eval",
        {
            "input": "pass",
            "version": "default",
            "executable_path": "/snekbin/python/default/bin/python",
        },
    )
    assert resp.status == 400
    assert "not both" in resp.json["description"]


def test_unknown_version_is_400(client):
    resp = client.post("/eval", {"input": "pass", "version": "2.7"})
    assert resp.status == 400
    assert "unknown version" in resp.json["description"]


def test_packages_from_a_read_only_environment(rich):
    code = (
        "import numpy as np; print(np.arange(10).sum(), np.linalg.det(np.eye(3) * 2))\n"
        "import numpy, os; open(os.path.join(os.path.dirname(numpy.__file__), 'x'), 'w')"
    )
    body = rich.eval(input=code)
    assert body["stdout"].startswith("45 7.99")
    assert "Read-only file system" in body["stdout"]


def test_openapi_document_is_built_from_the_validating_schemas(client, settings):
    from snekbox.jobs.request import schema

    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/eval",
        "/judge",
        "/runtimes",
        "/health",
        "/openapi.json",
        "/metrics",
    }
    request = doc["paths"]["/eval"]["post"]["requestBody"]["content"]["application/json"]
    assert request["schema"] == json.loads(json.dumps(schema(settings)))


def test_metrics_count_jobs_across_workers(client):
    before = client.get("/metrics").body.decode()
    for _ in range(6):
        client.eval(input="pass")
    client.post("/eval", {"input": 1})
    text = client.get("/metrics").body.decode()
    assert (
        _sample(text, 'snekbox_jobs_total{status="ok"}')
        >= _sample(before, 'snekbox_jobs_total{status="ok"}') + 6
    )
    assert _sample(text, 'snekbox_requests_rejected_total{code="400"}') >= 1
    assert _sample(text, "snekbox_job_duration_seconds_count") >= 6
    assert "snekbox_jobs_in_flight" in text


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def test_request_id_is_echoed_or_made(client):
    given = client.post("/eval", {"input": "pass"}, {"X-Request-ID": "req-123"})
    assert given.headers["x-request-id"] == "req-123"
    made = client.post("/eval", {"input": "pass"})
    assert len(made.headers["x-request-id"]) == 32
    for bad_id in ("no spaces or ; allowed", "\xe9t\xe9"):  # ASCII letters and digits only
        bad = client.post("/eval", {"input": "pass"}, {"X-Request-ID": bad_id})
        assert len(bad.headers["x-request-id"]) == 32


def test_one_structured_log_line_per_job(server):
    proc, client = server
    client.post("/eval", {"input": "raise SystemExit(3)"}, {"X-Request-ID": "log-test-42"})
    deadline = time.monotonic() + 5
    lines = []
    while not lines and time.monotonic() < deadline:
        lines = [line for line in server_log(proc).splitlines() if "log-test-42" in line]
        time.sleep(0.05)
    assert len(lines) == 1
    entry = json.loads(lines[0])  # the whole line: JSON and nothing else
    assert entry == {
        "event": "job",
        "request_id": "log-test-42",
        "status": "error",
        "returncode": 3,
        "duration": entry["duration"],
        "truncated": False,
        "files": 0,
    }


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    token_file = tmp_path_factory.mktemp("auth") / "tokens"
    token_file.write_text("# one per line\nfile-token\n")
    proc, client = start_server(
        {"SNEKBOX_API_TOKENS": "env-token", "SNEKBOX_API_TOKENS_FILE": str(token_file)}
    )
    yield client
    stop_server(proc)


@pytest.mark.parametrize("path", ["/runtimes", "/openapi.json", "/metrics"])
def test_auth_required_everywhere_but_health(guarded, path):
    assert guarded.get(path).status == 401
    assert guarded.get(path, {"Authorization": "Bearer wrong"}).status == 401
    assert guarded.get(path, {"Authorization": "Bearer env-token"}).status == 200
    assert guarded.get("/health").status == 200


def test_auth_on_eval(guarded):
    denied = guarded.post("/eval", {"input": "print(1)"})
    assert denied.status == 401
    assert denied.headers["www-authenticate"] == "Bearer"
    assert set(denied.json) == {"title", "description"}
    allowed = guarded.post("/eval", {"input": "print(1)"}, {"Authorization": "Bearer file-token"})
    assert (allowed.status, allowed.json["stdout"]) == (200, "1\n")
    judge = {"input": "print(1)", "cases": [{"expected_stdout": "1"}]}
    assert guarded.post("/judge", judge).status == 401
    judged = guarded.post("/judge", judge, {"Authorization": "Bearer env-token"})
    assert (judged.status, judged.json["summary"]["passed"]) == (200, 1)
