"""Text in and out of a job behaves as Python's does in a UTF-8 terminal, cold or warm."""

from __future__ import annotations

import pytest

from snekbox.jail import run_safely
from tests.jail.test_warm import spec_of, warm_jail

TERMINAL = (
    "import locale, sys\n"
    "print(sys.stdout.encoding, sys.stdout.errors, sys.stdin.encoding, sys.stdin.errors, "
    "sys.stderr.errors)\n"
    "print(locale.getpreferredencoding(), open('f.txt', 'w').encoding)\n"
    "print(input())"
)


def run(jobs, warm: bool, code: str, stdin: str = ""):
    spec = spec_of(jobs, {"input": code, "stdin": stdin})
    return run_safely(warm_jail(jobs) if warm else jobs.jail, spec)


@pytest.fixture(params=["cold", "warm"])
def warm(request) -> bool:
    return request.param == "warm"


def test_a_lone_surrogate_fails_to_print_as_in_a_terminal(jobs, warm):
    result = run(jobs, warm, "print('before'); print(chr(0xdce6)); print('after')")
    assert (result.returncode, result.status.value) == (1, "error")
    assert result.stdout.startswith("before\nTraceback")
    assert result.stdout.endswith(
        "UnicodeEncodeError: 'utf-8' codec can't encode character '\\udce6' in position 0: "
        "surrogates not allowed\n"
    )


def test_a_lone_surrogate_on_stderr_is_escaped_as_in_a_terminal(jobs, warm):
    result = run(jobs, warm, "import sys; print(chr(0xdce6), file=sys.stderr)")
    assert (result.stdout, result.returncode) == ("\\udce6\n", 0)


def test_bytes_that_are_not_utf8_come_back_replaced(jobs, warm):
    result = run(jobs, warm, "import sys; sys.stdout.buffer.write(b'ok \\xff\\xed\\xa0\\x80 end')")
    assert (result.stdout, result.returncode) == ("ok \ufffd\ufffd\ufffd\ufffd end", 0)


def test_encodings_are_utf8_and_strict_but_stderr(jobs, warm):
    result = run(jobs, warm, TERMINAL, stdin="héllo wörld ✓ 🐍\n")
    assert result.stdout == (
        "utf-8 strict utf-8 strict backslashreplace\nUTF-8 UTF-8\nhéllo wörld ✓ 🐍\n"
    )


def test_stdin_that_is_not_utf8_fails_to_read_as_in_a_terminal(jobs, warm):
    result = run(jobs, warm, "input()", stdin="\udcff")  # sent as ed b3 bf
    assert result.returncode == 1
    assert "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xed" in result.stdout
