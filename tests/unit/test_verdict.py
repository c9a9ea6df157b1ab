"""How a finished nsjail process becomes a return code and a status (pure logic)."""

import pytest

from snekbox.jail import verdict
from snekbox.jail.process import Outcome, Stop
from snekbox.result import EvalResult, Status


def outcome(log="", stopped=None, exit_code=0):
    return Outcome(
        output=b"", truncated=False, stopped=stopped, exit_code=exit_code, log=log, duration=0.1
    )


@pytest.mark.parametrize(
    "log,expected",
    [
        ("pid=5 ([STANDALONE MODE]) exited with status: 0, (PIDs left: 0)", (0, "ok")),
        ("pid=5 ([STANDALONE MODE]) exited with status: 3, (PIDs left: 0)", (3, "error")),
        ("pid=5 ([STANDALONE MODE]) terminated with signal: SIGSEGV (11), (PIDs", (139, "signal")),
        ("pid=5 ([STANDALONE MODE]) terminated with signal: SIGKILL (9), (PIDs", (137, "oom")),
        (
            "pid=5 run time >= time limit (6 >= 6) (...). Killing it\n"
            "pid=5 terminated with signal: SIGKILL (9)",
            (137, "timeout"),
        ),
        ("Couldn't launch the child process", (255, "internal_error")),
        (
            "[W] seccompViolation():291 pid=5 committed a syscall/seccomp violation and exited "
            "with SIGSYS\n[W] seccompViolation():325 pid=5 SiStatus:31 SiUid:65534 SiUtime:0 "
            "SiStime:0 SP:0, PC:0 (If SiStatus==31 (SIGSYS), then see 'dmesg' or 'journalctl -ek' "
            "for possible auditd report with more data)\n"
            "[I] pid=5 ([STANDALONE MODE]) terminated with signal: SIGSYS (31), (PIDs left: 0)",
            (159, "signal"),
        ),
    ],
)
def test_verdict_from_log(log, expected):
    code, status = verdict(outcome(log))
    assert (code, status.value) == expected


def test_stopped_for_output_is_143():
    code, status = verdict(outcome("terminated with signal: SIGKILL (9)", Stop.OUTPUT, 143))
    assert (code, status.value) == (143, "output_limit")


def test_stopped_at_deadline_is_timeout():
    code, status = verdict(outcome("terminated with signal: SIGKILL (9)", Stop.TIMEOUT, 143))
    assert (code, status.value) == (137, "timeout")


def test_seccomp_kill_is_reported_as_sigsys():
    assert EvalResult(stdout="", returncode=159, status=Status.SIGNAL).signal == "SIGSYS"
