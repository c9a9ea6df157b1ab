"""How a finished nsjail process becomes a return code and a status (pure logic)."""

import pytest

from snekbox.jail import verdict
from snekbox.jail.process import Outcome, Stop


def outcome(log="", stopped=None, exit_code=0):
    return Outcome(output=b"", truncated=False, stopped=stopped, exit_code=exit_code, log=log,
                   duration=0.1)


@pytest.mark.parametrize("log,expected", [
    ("pid=5 ([STANDALONE MODE]) exited with status: 0, (PIDs left: 0)", (0, "ok")),
    ("pid=5 ([STANDALONE MODE]) exited with status: 3, (PIDs left: 0)", (3, "error")),
    ("pid=5 ([STANDALONE MODE]) terminated with signal: SIGSEGV (11), (PIDs", (139, "signal")),
    ("pid=5 ([STANDALONE MODE]) terminated with signal: SIGKILL (9), (PIDs", (137, "oom")),
    ("pid=5 run time >= time limit (6 >= 6) (...). Killing it\n"
     "pid=5 terminated with signal: SIGKILL (9)", (137, "timeout")),
    ("Couldn't launch the child process", (255, "internal_error")),
])
def test_verdict_from_log(log, expected):
    code, status = verdict(outcome(log))
    assert (code, status.value) == expected


def test_stopped_for_output_is_143():
    code, status = verdict(outcome("terminated with signal: SIGKILL (9)", Stop.OUTPUT, 143))
    assert (code, status.value) == (143, "output_limit")


def test_stopped_at_deadline_is_timeout():
    code, status = verdict(outcome("terminated with signal: SIGKILL (9)", Stop.TIMEOUT, 143))
    assert (code, status.value) == (137, "timeout")
