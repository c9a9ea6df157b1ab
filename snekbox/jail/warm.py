"""A warm jail: a fresh jail, prepared before its job, whose interpreter waits for that job.

It is the same nsjail run as a cold one (same policy, same per-run flags and limits, a
/home of its own), started as `python -I -c BOOTSTRAP FD` instead of `python -I ARGS`.
When a job comes, its input files go into the run's /home, its stdin into the memfd
already on the interpreter's stdin, and its arguments down the pipe at FD; from then on it
is supervised like a cold run, its time limit counting from that hand-over. It serves
exactly one job: afterwards the jail is gone and its /home unmounted.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

from snekbox.jail import bootstrap, process
from snekbox.jail.nsjail import NsJail, RunSpec
from snekbox.jail.run import result
from snekbox.jail.runtimes import Runtime
from snekbox.result import EvalResult

# Seconds a warm jail may wait for its job before it is replaced by a younger one. nsjail's
# own backstop is set past this wait plus the longest time limit a job can have.
MAX_WAIT = 60.0


class HandoverError(RuntimeError):
    """The warm jail ended before it got its job; run the job in a cold jail instead."""


class WarmJail:
    """One jail of `runtime` within `memory` bytes, started now, for one job to come."""

    def __init__(self, jail: NsJail, runtime: Runtime, memory: int, max_time: float):
        self.jail = jail
        self.born = time.monotonic()
        with contextlib.ExitStack() as stack:
            lease = stack.enter_context(jail.uids.lease())
            self.uid = lease.uid
            self.home = stack.enter_context(jail.workdir.new_run(jail.tmpfs_size, lease.uid))
            self.stdin_fd = process.memfd("stdin")
            stack.callback(os.close, self.stdin_fd)
            self.log_fd = process.memfd("nsjail-log")
            stack.callback(os.close, self.log_fd)
            job_fd, self.pipe = os.pipe()
            stack.callback(self._close_pipe)
            try:
                argv = jail.command(runtime, memory, math.ceil(MAX_WAIT + max_time) + 1,
                                    lease.uid, self.home.path, self.log_fd,
                                    ("-c", bootstrap.SOURCE, str(job_fd)), pass_fds=(job_fd,))
                self.proc = process.start(argv, self.stdin_fd, self.log_fd, (job_fd, lease.fd))
            finally:
                os.close(job_fd)
            self._resources = stack.pop_all()

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.born >= MAX_WAIT

    def run(self, spec: RunSpec) -> EvalResult:
        """Hand `spec` over and supervise it to the end; InputFileError for bad files,
        HandoverError when the jail ended before taking the job."""
        try:
            if self.proc.poll() is not None:
                raise HandoverError(f"the warm jail ended early (exit {self.proc.returncode})")
            self.home.write_inputs(spec.files)
            if spec.stdin:
                os.pwrite(self.stdin_fd, spec.stdin, 0)
            self._send(bootstrap.message(spec.args))
            outcome = process.supervise(self.proc, self.log_fd, spec.limits.time,
                                        spec.limits.output)
            self.jail.end_leftovers(outcome.exit_code, self.uid)
            files = self.home.collect_outputs(self.jail.max_output_files)
        finally:
            self.close()
        return result(outcome, files)

    def _send(self, message: bytes) -> None:
        view = memoryview(message)
        try:
            while view:
                view = view[os.write(self.pipe, view):]
        except BrokenPipeError:
            raise HandoverError("the warm jail ended before it read its job") from None
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1

    def close(self) -> None:
        """End the jail if it still runs and release its descriptors, /home and uid."""
        try:
            self._close_pipe()
            if self.proc.poll() is None:
                process.stop(self.proc)
            self.jail.end_leftovers(self.proc.returncode, self.uid)
        finally:
            self.proc.stdout.close()
            self._resources.close()
