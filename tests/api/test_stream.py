"""POST /eval with Accept: text/event-stream, through a real gunicorn server: output as it
is written, one result, and a client that goes away stopping its job."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import leftovers, server_log, start_server, stop_server
from tests.helpers import EventStream, b64, processes_mentioning, read_slowly

COLD = {"memory": 64 * 1024 * 1024}  # not the default memory limit: never a warm jail


def streamed(client, **document: object) -> tuple[list[str], dict, list[str]]:
    """(texts of the output events, the result, the names of all events) of a streamed /eval."""
    stream = EventStream(client, "/eval", document)
    try:
        events = list(stream)
    finally:
        stream.close()
    names = [name for name, _ in events]
    assert names.count("result") == 1 and names[-1] == "result", names
    assert set(names) <= {"output", "result"}
    return [data["text"] for name, data in events if name == "output"], events[-1][1], names


def same_result(streamed_result: dict, plain: dict) -> None:
    for field in ("stdout", "returncode", "status", "signal", "truncated", "files"):
        assert streamed_result[field] == plain[field], field


@pytest.mark.parametrize("limits", [{}, COLD], ids=["warm", "cold"])
def test_output_events_then_the_same_result_as_a_plain_answer(client, limits):
    code = (
        "import sys, time\n"
        "print('one\\ntwo\\r\\n\\n\\nthree', flush=True)\n"
        "sys.stdout.buffer.write(b'\\xe2\\x82'); sys.stdout.flush(); time.sleep(0.3)\n"
        "sys.stdout.buffer.write(b'\\xac bad: \\xff\\xfe \\x00\\x01\\x1b[0m\\n')\n"
        "open('out.bin', 'wb').write(bytes(range(256)))\n"
        "print('err', file=sys.stderr)"
    )
    texts, result, _ = streamed(client, input=code, limits=limits)
    assert "".join(texts) == result["stdout"]
    assert result["stdout"] == ("one\ntwo\r\n\n\nthree\n€ bad: \ufffd\ufffd \x00\x01\x1b[0m\nerr\n")
    assert len(texts) >= 2  # the output came in parts, as it was written
    same_result(result, client.eval(input=code, limits=limits))
    assert [f["path"] for f in result["files"]] == ["out.bin"]


@pytest.mark.parametrize(
    ("code", "limits", "status"),
    [
        ("print('x' * 100)", {"output": 10}, "output_limit"),
        ("import time; print('a', flush=True); time.sleep(10)", {"time": 1}, "timeout"),
        ("x = bytearray(200 * 1024 * 1024)", {}, "oom"),
        ("import sys; print('bye'); sys.exit(3)", {}, "error"),
    ],
)
def test_limits_and_verdicts_as_in_a_plain_answer(client, code, limits, status):
    texts, result, _ = streamed(client, input=code, limits=limits)
    assert result["status"] == status
    assert "".join(texts) == result["stdout"]
    same_result(result, client.eval(input=code, limits=limits))


def test_a_job_that_prints_nothing_still_ends_with_its_result(client):
    texts, result, names = streamed(client, input="pass")
    assert (texts, names, result["returncode"]) == ([], ["result"], 0)


def test_errors_before_the_job_are_plain_json_answers(client):
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    resp = client.request("POST", "/eval", b'{"input": 1}', headers)
    assert resp.status == 400
    assert resp.headers["content-type"] == "application/json"
    assert "input" in resp.json["description"]
    files = [{"path": "a", "content": "eA=="}, {"path": "a/b", "content": "eA=="}]
    resp = client.post("/eval", {"input": "pass", "files": files}, {"Accept": "text/event-stream"})
    assert (resp.status, resp.headers["content-type"]) == (400, "application/json")


def test_without_the_accept_header_nothing_changes(client):
    resp = client.post("/eval", {"input": "print(1)"}, {"Accept": "*/*"})
    assert resp.headers["content-type"] == "application/json"
    assert resp.json["stdout"] == "1\n"


def test_request_id_and_metrics_count_a_streamed_job(client):
    stream = EventStream(client, "/eval", {"input": "print(7)"}, {"X-Request-ID": "stream-7"})
    try:
        assert stream.response.getheader("X-Request-ID") == "stream-7"
        assert list(stream)[-1][1]["stdout"] == "7\n"
    finally:
        stream.close()
    metrics = client.get("/metrics").body.decode()
    assert 'snekbox_jobs_total{status="ok"}' in metrics


@pytest.fixture(scope="module", params=[0, 1], ids=["cold", "warm"])
def one_slot(request):
    """A server that runs one job at once and lets none wait, with no warm jail (every job
    cold) or one."""
    proc, client = start_server(
        {
            "SNEKBOX_MAX_JOBS": "1",
            "SNEKBOX_MAX_QUEUE": "0",
            "SNEKBOX_WORKERS": "1",
            "SNEKBOX_POOL_SIZE": str(request.param),
        }
    )
    yield proc, client, request.param
    stop_server(proc)


def wait_for(condition, what: str, within: float = 15) -> None:
    """Poll `condition` until true; the bound only keeps a broken build from hanging."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def output_until(wanted: str, events) -> str:
    """The text of the output events up to the one that completes `wanted` (the job's
    writes may come in parts: `print` writes the line and its end separately)."""
    text = ""
    while not text.endswith(wanted):
        name, data = next(events)
        assert name == "output", (name, data)
        text += data["text"]
    return text


def run_mounts(proc) -> list[str]:
    """The per-run mounts in a server's namespace: live runs and warm jails, or leftovers."""
    return [line for line in leftovers(f"/proc/{proc.pid}/mounts") if "snekbox-home" in line]


def nsjails_of(proc) -> list[int]:
    """The nsjail processes a server started that still run: live jobs and warm jails."""
    found = subprocess.run(["pgrep", "-x", "nsjail"], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split() if _descends_from(int(pid), proc.pid)]


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            return False
        if pid == ancestor:
            return True
    return False


def test_a_client_going_away_stops_its_job_and_frees_its_slot(one_slot):
    proc, client, warm_jails = one_slot
    token = f"job-{uuid.uuid4().hex}"
    code = f"import time  # {token}\nprint('first', flush=True)\ntime.sleep(25)\nprint('late')"
    # Cold jobs get a memory limit of their own, so their code is on nsjail's command line.
    limits = {"time": 30} if warm_jails else {"time": 30, **COLD}
    stream = EventStream(client, "/eval", {"input": code, "limits": limits})
    assert output_until("first\n", iter(stream)) == "first\n"  # while the job sleeps
    assert client.post("/eval", {"input": "pass"}).status == 503  # it holds the one slot
    if not warm_jails:
        assert processes_mentioning(token)
    stream.close()
    wait_for(lambda: not processes_mentioning(token), "the job outlived its client")
    # An answer's slot is given back just after it is sent: the next request may come first.
    wait_for(lambda: client.post("/eval", {"input": "pass"}).status == 200, "slot still held")
    after = {"input": "print('next')"}
    wait_for(lambda: b'"stdout": "next\\n"' in client.post("/eval", after).body, "slot held")
    # The job's /home and nsjail are gone; what is left is a warm jail, if the server keeps one.
    assert len(run_mounts(proc)) <= warm_jails
    assert len(nsjails_of(proc)) <= warm_jails


def test_auth_and_the_body_budget_hold_for_streamed_answers():
    """A streamed answer needs the token, and holds its body's bytes (its files) until it
    ends, as a plain answer does until it is sent."""
    proc, client = start_server(
        {
            "SNEKBOX_API_TOKENS": "sesame",
            "SNEKBOX_MAX_BODY_SIZE": "2100000",
            "SNEKBOX_BODY_BUDGET": "6300000",
            "SNEKBOX_WORKERS": "1",
        }
    )
    auth = {"Authorization": "Bearer sesame"}
    big = {
        "input": "import time; print('in', flush=True); time.sleep(20)",
        "files": [{"path": "big.bin", "content": b64(bytes(1_500_000))}],
    }
    try:
        resp = client.post("/eval", {"input": "pass"}, {"Accept": "text/event-stream"})
        assert (resp.status, resp.headers["content-type"]) == (401, "application/json")
        stream = EventStream(client, "/eval", big, auth)
        assert output_until("in\n", iter(stream)) == "in\n"
        refused = client.post("/eval", big, auth)
        assert (refused.status, refused.json["title"]) == (503, "Too many large requests")
        stream.close()
        wait_for(lambda: client.post("/eval", {**big, "input": "pass"}, auth).status == 200, "held")
    finally:
        stop_server(proc)


@pytest.mark.slow
def test_a_client_taking_a_stream_slowly_does_not_keep_its_job_slot():
    """Once the job has ended, the rest of its stream must be taken as a plain answer of
    that size would be: within request_timeout plus a second per MiB."""
    proc, client = start_server(
        {
            "SNEKBOX_REQUEST_TIMEOUT": "3",
            "SNEKBOX_MAX_JOBS": "1",
            "SNEKBOX_MAX_QUEUE": "0",
            "SNEKBOX_POOL_SIZE": "0",
        }
    )
    try:
        # About 18 MB of events (the output, then the result holding it again): 20 s allowed.
        code = "import sys; sys.stdout.write('x' * 9_000_000)"
        body = json.dumps({"input": code, "limits": {"output": 9_500_000}})
        taken, reader = read_slowly(client, body, b"Accept: text/event-stream\r\n", 45, 0.3)
        assert taken < 18_000_000  # cut off part way
        assert client.eval(input="print('next')")["stdout"] == "next\n"
        reader.close()
    finally:
        stop_server(proc)
    assert "too slow to take its answer" in server_log(proc)
    assert "Traceback" not in server_log(proc)
