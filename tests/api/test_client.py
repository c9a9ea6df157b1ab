"""snekbox.client against a real server: typed results, errors, retries, both flavours."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from snekbox.client import (
    AsyncClient,
    BadRequest,
    Client,
    File,
    SnekboxError,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from tests.conftest import start_server, stop_server


def url_of(http_client) -> str:
    return f"http://{http_client.host}:{http_client.port}"


@pytest.fixture(scope="module")
def snekbox(client):
    with Client(url_of(client)) as snekbox:
        yield snekbox


def test_a_judgement_is_typed_both_ways(snekbox, client):
    cases = [{"stdin": "2", "expected_stdout": "4"}, {"name": "odd", "stdin": "3", "args": ["x"]}]
    code = "import sys; print(int(input()) * 2, *sys.argv[1:])"
    judgement = snekbox.judge(code, cases=cases, compare="tokens", time=2)
    assert (judgement.passed, judgement.total) == (2, 2)
    assert [c.verdict for c in judgement.cases] == ["accepted", "accepted"]
    assert (judgement.cases[1].name, judgement.cases[1].result.stdout) == ("odd", "6 x\n")

    async def main():
        async with AsyncClient(url_of(client)) as asynchronous:
            return await asynchronous.judge(code, cases=[{"stdin": "1", "expected_stdout": "3"}])

    wrong = asyncio.run(main()).cases[0]
    assert (wrong.verdict, wrong.difference) == (
        "wrong_answer",
        {"line": 1, "expected": "3", "actual": "2"},
    )


def test_a_result_is_typed_and_its_files_decoded(snekbox):
    result = snekbox.eval(
        "import sys; open('out.bin', 'wb').write(bytes(range(3)))\n"
        "print(open('data.txt').read(), input(), sys.argv[1:])",
        files={"data.txt": b"from a file"},
        stdin="from stdin\n",
    )
    assert (result.ok, result.status, result.returncode, result.signal) == (True, "ok", 0, None)
    assert result.stdout == "from a file from stdin []\n"
    assert result.files == (File("out.bin", bytes(range(3))),)
    assert result.duration > 0 and not result.truncated


def test_args_limits_and_the_request_id(snekbox):
    result = snekbox.eval(
        args=["-c", "import sys; print(sys.argv[1:])", "a"], request_id="client-test-1"
    )
    assert (result.stdout, result.request_id) == ("['a']\n", "client-test-1")
    slow = snekbox.eval("while True: pass", time=0.5)
    assert (slow.status, slow.returncode, slow.signal) == ("timeout", 137, "SIGKILL")
    threads = "import threading; threading.Thread(target=print, args=('t',)).start()"
    assert snekbox.eval(threads, processes=2).stdout == "t\n"


def test_runtimes_and_health(snekbox):
    default = [runtime for runtime in snekbox.runtimes() if runtime.default]
    assert [runtime.name for runtime in default] == ["default"]
    assert snekbox.health()["status"] == "ok"


def test_an_error_answer_is_raised_with_the_servers_words(snekbox, settings):
    with pytest.raises(BadRequest) as bad:
        snekbox.eval("pass", version="no-such-runtime")
    assert (bad.value.status, bad.value.title) == (400, "Invalid request")
    assert "no-such-runtime" in bad.value.description
    with pytest.raises(TooLarge) as large:
        snekbox.eval("pass", stdin="x" * (settings.max_stdin + 1))
    assert large.value.title == "stdin too large"
    with pytest.raises(SnekboxError) as neither:
        snekbox.eval()
    assert neither.value.status == 400


def test_a_token_is_sent_and_a_wrong_one_raised():
    proc, http_client = start_server({"SNEKBOX_API_TOKENS": "right"})
    try:
        with Client(url_of(http_client), token="right") as snekbox:
            assert snekbox.eval("print(1)").stdout == "1\n"
        with Client(url_of(http_client), token="wrong") as snekbox:
            with pytest.raises(Unauthorized):
                snekbox.eval("print(1)")
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def one_slot():
    """A server that runs one job at once and lets none wait."""
    proc, http_client = start_server(
        {"SNEKBOX_MAX_JOBS": "1", "SNEKBOX_MAX_QUEUE": "0", "SNEKBOX_POOL_SIZE": "0"}
    )
    yield url_of(http_client)
    stop_server(proc)


def occupy(url: str, seconds: float) -> threading.Thread:
    """The one slot, taken by a job that sleeps for `seconds` (from about now)."""

    def sleep() -> None:
        with Client(url, retries=0) as snekbox:
            snekbox.eval(f"import time; time.sleep({seconds})")

    thread = threading.Thread(target=sleep)
    thread.start()
    time.sleep(0.5)
    return thread


def test_503_is_retried_as_retry_after_allows_then_raised(one_slot):
    busy = occupy(one_slot, 1.5)
    with Client(one_slot, retries=0) as impatient, Client(one_slot, retries=5) as patient:
        with pytest.raises(Unavailable) as refused:
            impatient.eval("print('no')")
        assert refused.value.status == 503
        assert patient.eval("print('in the end')").stdout == "in the end\n"
    busy.join()


def test_the_asyncio_client_does_the_same(one_slot):
    async def main():
        async with AsyncClient(one_slot) as snekbox:
            results = await asyncio.gather(snekbox.eval("print(1)"), snekbox.eval("print(2)"))
            with pytest.raises(BadRequest):
                await snekbox.eval("pass", executable_path="/nowhere")
            return [r.stdout for r in results], [r.name for r in await snekbox.runtimes()]

    outputs, runtimes = asyncio.run(main())
    assert sorted(outputs) == ["1\n", "2\n"]  # one after the other: the second was retried
    assert "default" in runtimes
