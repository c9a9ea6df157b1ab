"""A warm jail: a fresh jail, prepared before its job, whose interpreter waits for that job.

It is a Run like a cold one (snekbox.jail.run: same policy, same per-run flags and
limits, a /home of its own), started as `python -I -c BOOTSTRAP FD` instead of `python -I
ARGS`. When a job comes, its input files go into the run's /home, its stdin into the memfd
already on the interpreter's stdin, and its arguments down the pipe at FD; from then on it
is supervised like a cold run, its time limit counting from that hand-over. It serves
exactly one job: afterwards the jail is gone and its /home unmounted.
"""

from __future__ import annotations

import math
import os
import time

from snekbox.jail import bootstrap
from snekbox.jail.nsjail import NsJail, RunSpec
from snekbox.jail.process import Watch
from snekbox.jail.run import Run
from snekbox.jail.runtimes import Runtime
from snekbox.limits import JailLimits
from snekbox.result import EvalResult

# Seconds a warm jail may wait for its job before it is replaced by a younger one. nsjail's
# own backstop is set past this wait plus the longest time limit a job can have.
MAX_WAIT = 60.0


class HandoverError(RuntimeError):
    """The warm jail ended before it got its job; run the job in a cold jail instead."""


class WarmJail(Run):
    """A run of `runtime` within `limits`, started now with the bootstrap, for one job to
    come: a job with these limits, as they cannot change after the start."""

    def __init__(self, jail: NsJail, runtime: Runtime, limits: JailLimits, max_time: float):
        self.born = time.monotonic()
        self.pipe = -1
        super().__init__(jail)
        try:
            job_fd, self.pipe = os.pipe()
            try:
                self.start(
                    runtime,
                    limits,
                    math.ceil(MAX_WAIT + max_time) + 1,
                    ("-c", bootstrap.SOURCE, str(job_fd)),
                    pass_fds=(job_fd,),
                )
            finally:
                os.close(job_fd)
        except BaseException:
            self.close()
            raise

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.born >= MAX_WAIT

    def run(self, spec: RunSpec, watch: Watch | None = None) -> EvalResult:
        """Hand `spec` over and supervise it to the end; InputFileError for bad files,
        HandoverError when the jail ended before taking the job."""
        with self:
            if self.proc.poll() is not None:
                raise HandoverError(f"the warm jail ended early (exit {self.proc.returncode})")
            self.load(spec)
            self._send(bootstrap.message(spec.args, spec.figures))
            return self.finish(spec, watch)

    def close(self) -> None:
        """Close the pipe first, so that a bootstrap still waiting exits; then as any run."""
        self._close_pipe()
        super().close()

    def _send(self, message: bytes) -> None:
        view = memoryview(message)
        try:
            while view:
                view = view[os.write(self.pipe, view) :]
        except BrokenPipeError:
            raise HandoverError("the warm jail ended before it read its job") from None
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1
