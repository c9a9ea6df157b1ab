"""Concurrency over HTTP, against real servers started with specific SNEKBOX_* settings.

These tests state orderings and completions, never latencies: the speed targets are
measured by scripts/bench.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from tests.api.test_startup import failed_start
from tests.conftest import start_server, stop_server

SLEEP_AND_REPORT = """
import sys, time
started = time.time()
time.sleep({seconds})
print(sys.argv[1], started, time.time())
"""


@pytest.fixture
def server_with():
    """start_server(env) for this test only; every server is stopped at its end."""
    started = []

    def start(**env: str):
        proc, client = start_server({f"SNEKBOX_{k.upper()}": v for k, v in env.items()})
        started.append(proc)
        return client

    yield start
    for proc in started:
        stop_server(proc)


def sleeper(client, name: str, seconds: float) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of a job that sleeps and prints its name and times."""
    resp = client.post("/eval", {"args": ["-c", SLEEP_AND_REPORT.format(seconds=seconds), name]})
    return resp.status, resp.headers, resp.json


def report(body: dict) -> tuple[str, float, float]:
    name, started, ended = body["stdout"].split()
    return name, float(started), float(ended)


@pytest.mark.slow
def test_hello_world_finishes_while_sleepers_hold_slots(server_with):
    client = server_with(max_jobs="3", max_queue="4")
    with ThreadPoolExecutor(2) as pool:
        sleepers = [pool.submit(sleeper, client, f"s{i}", 4) for i in range(2)]
        time.sleep(1)
        hello = client.eval(input="import time; print('hello world', time.time())")
        still_running = [not s.done() for s in sleepers]
        results = [s.result() for s in sleepers]
    said, when = hello["stdout"].rsplit(" ", 1)
    assert said == "hello world"
    assert still_running == [True, True]
    for status, _, body in results:
        assert status == 200
        _, started, ended = report(body)
        assert started < float(when) < ended


@pytest.mark.slow
def test_sixteen_sleepers_all_run_at_once_and_succeed(server_with):
    client = server_with(max_jobs="16", max_queue="0")
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: sleeper(client, f"s{i}", 2), range(16)))
    assert [status for status, _, _ in results] == [200] * 16
    reports = [report(body) for _, _, body in results]
    assert sorted(name for name, _, _ in reports) == sorted(f"s{i}" for i in range(16))
    assert max(started for _, started, _ in reports) < min(ended for _, _, ended in reports)


@pytest.mark.slow
def test_overload_is_refused_at_once_and_every_accepted_request_is_answered(server_with):
    client = server_with(max_jobs="2", max_queue="2", workers="2")
    answered: list[tuple[str, int, dict, dict]] = []
    lock = threading.Lock()

    def send(i: int) -> None:
        status, headers, body = sleeper(client, f"s{i}", 1.5)
        with lock:
            answered.append((f"s{i}", status, headers, body))

    with ThreadPoolExecutor(10) as pool:
        wait([pool.submit(send, i) for i in range(10)])
    statuses = [status for _, status, _, _ in answered]
    assert sorted(statuses) == [200] * 4 + [503] * 6
    first_ok = statuses.index(200)
    assert statuses[first_ok:] == [200] * 4, "a refusal came only after a job had finished"
    for name, status, headers, body in answered:
        if status == 503:
            assert int(headers["retry-after"]) >= 1
            assert set(body) == {"title", "description"}
            assert "2 jobs are running and 2 waiting" in body["description"]
        else:
            assert report(body)[0] == name
            assert (body["returncode"], body["status"]) == (0, "ok")


def test_a_bad_request_is_400_even_when_every_slot_is_busy(server_with):
    client = server_with(max_jobs="1", max_queue="0", pool_size="0")
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(sleeper, client, "busy", 2)
        time.sleep(1)
        assert client.post("/eval", {"input": "pass"}).status == 503
        resp = client.post("/eval", {"input": "pass", "version": "no-such-runtime"})
        assert (resp.status, "no-such-runtime" in resp.json["description"]) == (400, True)
        assert busy.result()[0] == 200


BUDGET = {"workers": "1", "max_body_size": "2000000", "body_budget": "6000000"}
JSON = {"Content-Type": "application/json"}


def large_request(size: int = 1_990_000, seconds: float = 0, valid: bool = True) -> bytes:
    """A body of about `size` bytes, most of them a file, whose job sleeps `seconds`.

    Read, it holds its bytes, then its text and parsed values: about 3 x `size`; while its
    job runs, only the file (3/4 of `size`).
    """
    document = json.dumps(
        {
            "input": f"import time; time.sleep({seconds})",
            "files": [{"path": "pad", "content": "A" * (size - 100)}],
        }
    )
    return (document if valid else document[:-1]).encode()


def test_request_bodies_beyond_a_workers_budget_are_refused(server_with):
    client = server_with(**BUDGET)
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(client.request, "POST", "/eval", large_request(seconds=3), JSON)
        time.sleep(1.5)  # its file (1.5 MB) is held until it is answered
        refused = client.request("POST", "/eval", large_request(), JSON)  # needs 6 MB
        assert refused.status == 503, refused.body
        assert int(refused.headers["retry-after"]) >= 1
        assert "request bodies are held by other requests" in refused.json["description"]
        assert client.eval(input="print('small')")["stdout"] == "small\n"  # never counted
        assert holder.result().status == 200
    for _ in range(3):  # refused or failed requests give their bytes back
        assert client.request("POST", "/eval", large_request(valid=False), JSON).status == 400
    assert client.request("POST", "/eval", large_request(), JSON).status == 200


def test_announced_bytes_hold_nothing_until_they_arrive(server_with):
    client = server_with(**BUDGET)
    with socket.create_connection((client.host, client.port)) as silent:
        silent.sendall(
            b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1990000\r\n\r\n"
        )
        time.sleep(0.5)
        assert client.request("POST", "/eval", large_request(), JSON).status == 200


def test_a_body_whose_text_could_never_fit_is_too_large(server_with):
    # One character past U+FFFF makes the whole text take 4 bytes a character, and each
    # string parsed out of it too: 9 bytes of memory per byte sent.
    client = server_with(**BUDGET)
    body = json.dumps({"input": "#" + "A" * 1_000_000 + "\U0001f600"}, ensure_ascii=False)
    resp = client.request("POST", "/eval", body.encode(), JSON)
    assert (resp.status, resp.json["title"]) == (413, "Request too large in memory")
    assert client.request("POST", "/eval", large_request(), JSON).status == 200


def chunked(body: bytes) -> bytes:
    return (
        b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 65536]), body[i : i + 65536])
            for i in range(0, len(body), 65536)
        )
        + b"0\r\n\r\n"
    )


def test_chunked_bodies_are_held_like_others(server_with):
    client = server_with(**BUDGET)
    headers = {**JSON, "Transfer-Encoding": "chunked"}
    with ThreadPoolExecutor(1) as pool:
        holder = pool.submit(
            client.request, "POST", "/eval", chunked(large_request(seconds=3)), headers
        )
        time.sleep(1.5)
        refused = client.request("POST", "/eval", chunked(large_request()), headers)
        assert refused.status == 503, refused.body
        assert holder.result().status == 200
    assert client.request("POST", "/eval", chunked(large_request()), headers).status == 200
    too_large = client.request("POST", "/eval", chunked(large_request(2_100_000)), headers)
    assert too_large.status == 413  # not 503: it could never be taken


def test_a_malformed_chunked_body_is_a_bad_request(client):
    resp = client.request(
        "POST", "/eval", b"zz\r\n{}\r\n0\r\n\r\n", {**JSON, "Transfer-Encoding": "chunked"}
    )
    assert resp.status == 400, resp.body


def test_a_budget_too_small_for_the_largest_body_stops_the_server():
    said = failed_start({"SNEKBOX_MAX_BODY_SIZE": "2000000", "SNEKBOX_BODY_BUDGET": "5000000"})
    assert "SNEKBOX_BODY_BUDGET=5000000 is under 3 x SNEKBOX_MAX_BODY_SIZE=2000000" in said
