"""What one nsjail run ended with: the job's verdict and result, read from nsjail's log."""

from __future__ import annotations

import logging
import re

from snekbox.jail import process
from snekbox.result import EvalResult, FileAttachment, Status

log = logging.getLogger(__name__)

_EXITED = re.compile(r"exited with status: (\d+)")
_SIGNALLED = re.compile(r"terminated with signal: \w+ \((\d+)\)")
_TIME_LIMIT = "time limit"
_SECCOMP_VIOLATION = "seccomp violation"


def verdict(outcome: process.Outcome) -> tuple[int, Status]:
    """The job's return code (128+N for signal N) and why it ended, from nsjail's log."""
    if outcome.stopped is process.Stop.OUTPUT:
        return 143, Status.OUTPUT_LIMIT
    if outcome.stopped is process.Stop.TIMEOUT or _TIME_LIMIT in outcome.log:
        return 137, Status.TIMEOUT
    if signalled := _SIGNALLED.search(outcome.log):
        code = 128 + int(signalled[1])
        return code, Status.OOM if code == 137 else Status.SIGNAL
    if exited := _EXITED.search(outcome.log):
        code = int(exited[1])
        return code, Status.OK if code == 0 else Status.ERROR
    return 255, Status.INTERNAL_ERROR


def result(outcome: process.Outcome, files: tuple[FileAttachment, ...]) -> EvalResult:
    """The job's result from its nsjail outcome and the files it left."""
    returncode, status = verdict(outcome)
    if status is Status.INTERNAL_ERROR:
        log.error("nsjail failed (exit %s): %s", outcome.exit_code, outcome.log[-2000:])
    elif _SECCOMP_VIOLATION in outcome.log:
        # A forbidden system call: worth an operator's eye, as it is a probe of the kernel.
        log.warning("a job was killed by the seccomp policy after %.2f s (returncode %s)",
                    outcome.duration, returncode)
    return EvalResult(
        stdout=outcome.output.decode("utf-8", "replace"),
        returncode=returncode,
        status=status,
        duration=outcome.duration,
        truncated=outcome.truncated,
        files=files,
    )
