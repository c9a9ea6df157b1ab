"""One nsjail run, from its uid lease to its result, cold or warm alike.

A cold run starts nsjail with the job's arguments once the job is known (NsJail.run); a
warm one starts it with the bootstrap ahead of time and hands the job over later
(snekbox.jail.warm). Everything else is this class's: the uid, /home, the memfds, the
process, its supervision, and one clean-up path in close().
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
from typing import TYPE_CHECKING

from snekbox.jail import priority, process
from snekbox.jail.runtimes import Runtime
from snekbox.limits import JailLimits
from snekbox.result import EvalResult, FileAttachment, Status

if TYPE_CHECKING:
    from snekbox.jail.nsjail import NsJail, RunSpec

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
        log.warning(
            "a job was killed by the seccomp policy after %.2f s (returncode %s)",
            outcome.duration,
            returncode,
        )
    return EvalResult(
        stdout=outcome.output.decode("utf-8", "replace"),
        returncode=returncode,
        status=status,
        duration=outcome.duration,
        truncated=outcome.truncated,
        files=files,
    )


class Run:
    """One run under `jail`: a leased host uid, a fresh /home, memfds for nsjail's stdin
    and log, then its process. Used as a context manager, or closed: every path ends in
    close(), which releases all of it in order."""

    proc: subprocess.Popen  # set by start()

    def __init__(self, jail: NsJail):
        self.jail = jail
        self._ended = True  # nothing to end until nsjail has started
        with contextlib.ExitStack() as stack:
            self.lease = stack.enter_context(jail.uids.lease())
            self.home = stack.enter_context(jail.workdir.new_run(jail.tmpfs_size, self.lease.uid))
            self.stdin_fd = process.memfd("stdin")
            stack.callback(os.close, self.stdin_fd)
            self.log_fd = process.memfd("nsjail-log")
            stack.callback(os.close, self.log_fd)
            self._resources = stack.pop_all()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def load(self, spec: RunSpec) -> None:
        """Write the job's files into /home and its stdin where nsjail's stdin reads it;
        InputFileError for bad files."""
        self.home.write_inputs(spec.files)
        if spec.stdin:
            os.pwrite(self.stdin_fd, spec.stdin, 0)

    def start(
        self,
        runtime: Runtime,
        limits: JailLimits,
        backstop: int,
        python_args: tuple[str, ...],
        pass_fds: tuple[int, ...] = (),
        figures: bool = False,
    ) -> None:
        """Start nsjail (see NsJail.command), keeping `pass_fds` open for the job."""
        argv = self.jail.command(
            runtime,
            limits,
            backstop,
            self.lease.uid,
            self.home.path,
            self.log_fd,
            python_args,
            pass_fds,
            figures,
        )
        # nsjail keeps the lease's descriptor (its job does not), so the uid stays leased
        # for as long as nsjail lives.
        self.proc = process.start(argv, self.stdin_fd, self.log_fd, (*pass_fds, self.lease.fd))
        self._ended = False

    def finish(self, spec: RunSpec, watch: process.Watch | None = None) -> EvalResult:
        """Supervise the job to its end, its time limit counting from now, followed by
        `watch` (see process.Watch) and demoted once it has used much CPU; its result."""
        demotion = priority.Demotion(self.jail.cgroups, self.proc.pid, self.jail.demote_after_cpu)
        outcome = process.supervise(
            self.proc,
            self.log_fd,
            spec.limits.time,
            spec.limits.output,
            watch or process.Watch(),
            demotion,
        )
        self._end()
        return result(outcome, self.home.collect_outputs(self.jail.max_output_files))

    def close(self) -> None:
        """End nsjail and whatever it left, then release the memfds, /home and the uid."""
        try:
            self._end()
        finally:
            self._resources.close()

    def _end(self) -> None:
        """Stop nsjail if it still runs and end what it left, once: before /home is read
        or unmounted, and before its uid can go to another jail."""
        if self._ended:
            return
        self._ended = True
        try:
            if self.proc.poll() is None:
                process.stop(self.proc)
            self._end_leftovers(self.proc.returncode)
        finally:
            if self.proc.stdout is not None:  # always, as process.start pipes it
                self.proc.stdout.close()

    def _end_leftovers(self, exit_code: int) -> None:
        """An nsjail that exits on its own or on SIGTERM takes its job along and removes the
        job's cgroups; one killed by a signal (SIGKILL: snekbox's last resort, an operator,
        the OOM killer) does neither, so both are done here."""
        if exit_code >= 0:
            return
        if not process.kill_processes_of(self.lease.uid):
            log.error("processes of job uid %d outlived its nsjail and SIGKILL", self.lease.uid)
        if strays := self.jail.cgroups.remove_strays():
            log.warning("removed %d cgroups left by a killed nsjail", len(strays))
