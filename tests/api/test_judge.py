"""POST /judge through a real gunicorn server: verdicts, streaming, admission, clean-up."""

from __future__ import annotations

import http.client
import json
import re
import uuid

import pytest

from tests.api.test_stream import nsjails_of, run_mounts, wait_for
from tests.conftest import start_server, stop_server
from tests.helpers import EventStream, b64, processes_mentioning

# Reads a number n and acts on it; most cases print 2n.
PROGRAM = """
import sys, time
n = int(input())
if n == 3: time.sleep(10)
if n == 4: x = bytearray(200 * 1024 * 1024)
if n == 5: print("x" * 1000)
if n == 6: sys.exit(2)
print(n * 2, *sys.argv[1:])
"""

CASES = [
    {"name": "doubles", "stdin": "1", "expected_stdout": "2\n"},
    {"stdin": "2", "expected_stdout": "5\n"},
    {"stdin": "3", "expected_stdout": "6\n", "limits": {"time": 1}},
    {"stdin": "4", "expected_stdout": "8\n"},
    {"stdin": "5", "expected_stdout": "10\n", "limits": {"output": 100}},
    {"stdin": "6", "expected_stdout": "12\n"},
    {"stdin": "7", "args": ["seven", "7"], "expected_stdout": "14 seven 7  \n\n"},
    {"stdin": "8"},
]
VERDICTS = [
    "accepted",
    "wrong_answer",
    "timeout",
    "oom",
    "output_limit",
    "runtime_error",
    "accepted",
    "accepted",
]


def test_every_case_has_its_verdict_in_order(client):
    resp = client.post("/judge", {"input": PROGRAM, "cases": CASES})
    assert resp.status == 200, resp.body[:500]
    cases = resp.json["cases"]
    assert [c["verdict"] for c in cases] == VERDICTS
    assert [c["index"] for c in cases] == list(range(len(CASES)))
    assert cases[0]["name"] == "doubles" and cases[1]["name"] is None
    assert cases[1]["difference"] == {"line": 1, "expected": "5", "actual": "4"}
    assert cases[6]["stdout"] == "14 seven 7\n"
    assert (cases[5]["returncode"], cases[4]["truncated"]) == (2, True)
    assert set(cases[0]) == {
        *("index", "name", "verdict", "difference"),
        *("stdout", "returncode", "status", "signal", "duration", "truncated"),
    }
    summary = resp.json["summary"]
    assert (summary["passed"], summary["total"]) == (3, 8)
    assert summary["duration"] >= cases[2]["duration"]


def test_streamed_a_case_event_as_each_ends_then_the_summary(client):
    stream = EventStream(client, "/judge", {"input": PROGRAM, "cases": CASES})
    try:
        events = list(stream)
    finally:
        stream.close()
    assert [name for name, _ in events] == ["case"] * len(CASES) + ["summary"]
    cases = sorted((data for _, data in events[:-1]), key=lambda case: case["index"])
    assert [c["verdict"] for c in cases] == VERDICTS
    assert (events[-1][1]["passed"], events[-1][1]["total"]) == (3, 8)


@pytest.mark.parametrize(
    ("compare", "verdict"),
    [("exact", "wrong_answer"), ("trailing_whitespace", "accepted"), ("tokens", "accepted")],
)
def test_comparison_modes(client, compare, verdict):
    document = {
        "input": "print('a  b  ')\nprint()",
        "compare": compare,
        "cases": [{"expected_stdout": "a  b"}],
    }
    assert client.post("/judge", document).json["cases"][0]["verdict"] == verdict
    document["cases"] = [{"expected_stdout": "a\nb"}]
    tokens = client.post("/judge", document).json["cases"][0]["verdict"]
    assert tokens == ("accepted" if compare == "tokens" else "wrong_answer")


def test_every_case_runs_in_a_fresh_jail_on_the_same_files(client):
    program = (
        "import os, time\nopen('left-' + input(), 'w').write(open('data.txt').read())\n"
        "time.sleep(0.5)\nprint(sorted(os.listdir('.')))"
    )
    document = {
        "args": ["main.py"],
        "files": [
            {"path": "main.py", "content": b64(program)},
            {"path": "data.txt", "content": b64("d")},
        ],
        "cases": [
            {"stdin": str(i), "expected_stdout": f"['data.txt', 'left-{i}', 'main.py']"}
            for i in range(4)
        ],
    }
    cases = client.post("/judge", document).json["cases"]
    # No case sees what another left: each listed only the request's files and its own.
    assert [c["verdict"] for c in cases] == ["accepted"] * 4


@pytest.mark.parametrize(
    ("document", "status", "words"),
    [
        ({"input": "pass"}, 400, "cases"),
        ({"input": "pass", "cases": []}, 400, "cases"),
        ({"input": "pass", "cases": [{}] * 101}, 400, "101 items"),
        ({"input": "pass", "cases": [{"stdn": "1"}]}, 400, "stdn"),
        ({"input": "pass", "cases": [{"limits": {"time": 1000}}]}, 400, "time"),
        ({"input": "pass", "cases": [{"args": ["\0"]}]}, 400, "NUL"),
        ({"input": "pass", "cases": [{"name": "\ud800"}]}, 400, "surrogate"),
        ({"input": "pass", "cases": [{}], "compare": "fuzzy"}, 400, "fuzzy"),
        ({"cases": [{}]}, 400, "nothing to run"),
        ({"input": "pass", "cases": [{"stdin": "x" * 1_000_001}]}, 413, "stdin"),
        (
            {"input": "pass", "cases": [{}] * 100, "limits": {"output": 10_000_000}},
            413,
            "lower limits.output",
        ),
    ],
)
def test_bad_cases_are_refused_clearly(client, document, status, words):
    resp = client.post("/judge", document)
    assert resp.status == status, resp.body[:300]
    assert words in resp.json["description"], resp.json


def test_it_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json["paths"]
    request = paths["/judge"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request["properties"]["cases"]["maxItems"] == 100
    assert "text/event-stream" in paths["/eval"]["post"]["responses"]["200"]["content"]


def test_metrics_count_cases_by_verdict(client):
    client.post("/judge", {"input": "print(1)", "cases": [{"expected_stdout": "2"}]})
    metrics = client.get("/metrics").body.decode()
    assert re.search(r'snekbox_judged_cases_total\{verdict="wrong_answer"\} [1-9]', metrics)


@pytest.fixture(scope="module")
def two_slots():
    """A server that runs two jobs at once, lets none wait, and has no warm jails."""
    proc, client = start_server(
        {
            "SNEKBOX_MAX_JOBS": "2",
            "SNEKBOX_MAX_QUEUE": "0",
            "SNEKBOX_WORKERS": "1",
            "SNEKBOX_POOL_SIZE": "0",
        }
    )
    yield proc, client
    stop_server(proc)


def jobs_counted(client) -> float:
    metrics = client.get("/metrics").body.decode()
    return sum(float(n) for n in re.findall(r"^snekbox_jobs_total\{[^}]*\} (\S+)", metrics, re.M))


def test_a_judge_that_cannot_have_its_slots_is_refused_whole(two_slots):
    _, client = two_slots
    busy = EventStream(
        client, "/eval", {"input": "import time; print(1, flush=True); time.sleep(20)"}
    )
    try:
        assert next(iter(busy))[0] == "output"  # one of the two slots is taken
        before = jobs_counted(client)
        resp = client.post("/judge", {"input": "print(1)", "cases": [{}, {}]})
        assert resp.status == 503 and resp.headers["retry-after"] == "1"
        assert jobs_counted(client) == before  # not a single case ran
        one = client.post("/judge", {"input": "print(1)", "cases": [{}]})  # one slot: enough
        assert one.json["summary"]["passed"] == 1
    finally:
        busy.close()
    wait_for(
        lambda: client.post("/judge", {"input": "print(1)", "cases": [{}] * 2}).status == 200,
        "slot kept",
    )


def test_a_judge_holds_no_more_slots_than_there_are(two_slots):
    _, client = two_slots
    stream = EventStream(
        client,
        "/judge",
        {
            "input": "import time; time.sleep(float(input()))",
            "cases": [{"stdin": "0"}] + [{"stdin": "2"}] * 4,
        },
    )
    try:
        events = iter(stream)
        assert next(events)[0] == "case"
        assert client.post("/eval", {"input": "pass"}).status == 503  # both slots are its
        rest = list(events)
    finally:
        stream.close()
    assert [name for name, _ in rest] == ["case"] * 4 + ["summary"]
    assert rest[-1][1]["passed"] == 5


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "plain"])
def test_a_client_going_away_mid_judge_stops_every_case(two_slots, streamed):
    proc, client = two_slots
    token = f"judge-{uuid.uuid4().hex}"
    program = f"import time  # {token}\nif input() == 'slow': time.sleep(25)"
    cases = [{"stdin": "quick"}] + [{"stdin": "slow", "limits": {"time": 30}}] * 5
    document = {"input": program, "cases": cases}
    if streamed:
        stream = EventStream(client, "/judge", document)
        assert next(iter(stream))[1]["index"] == 0
    else:
        stream = http.client.HTTPConnection(client.host, client.port)
        stream.request("POST", "/judge", json.dumps(document), {"Content-Type": "application/json"})
    wait_for(lambda: processes_mentioning(token), "the slow cases did not start")
    stream.close()
    wait_for(lambda: not processes_mentioning(token), "cases outlived their client")
    # Both slots free together again (an answer's slot is given back just after it is sent).
    judge = {"input": "pass", "cases": [{}] * 2}
    wait_for(lambda: client.post("/judge", judge).status == 200, "slots still held")
    assert run_mounts(proc) == []
    assert nsjails_of(proc) == []
