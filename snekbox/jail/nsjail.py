"""NsJail: the nsjail command line and the host state every run shares.

A run itself (uid, /home, process, clean-up) is snekbox.jail.run.Run's.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path
from typing import Protocol

from snekbox.filesystem import InputFile, WorkDir
from snekbox.jail.process import Watch
from snekbox.jail.run import Run
from snekbox.jail.runtimes import Runtime
from snekbox.jail.uids import UidRange
from snekbox.limits import Cgroups, JailLimits, JobLimits
from snekbox.result import EvalResult

log = logging.getLogger(__name__)

# Isolated mode; unbuffered, so output and tracebacks arrive in the order a terminal shows.
PYTHON_FLAGS = ("-I", "-u")
# The job's uid inside its jail (nobody); outside, each jail has a leased uid of its own.
INSIDE_UID = 65534


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything a single run needs: interpreter, its arguments, input and limits."""

    runtime: Runtime
    args: tuple[str, ...]
    limits: JobLimits
    files: tuple[InputFile, ...] = ()
    stdin: bytes = b""
    # matplotlib figures still open at the end come back as figure-N.png files.
    figures: bool = False


class NsJail:
    """nsjail with `config` plus the per-run flags added here, and what runs share: the
    cgroups, the work directory, the uid range, the runtimes' views, the limits of /home,
    the CPU seconds after which a job yields to others (snekbox.jail.priority)."""

    def __init__(
        self,
        binary: str,
        config: Path,
        cgroups: Cgroups,
        workdir: WorkDir,
        uids: UidRange,
        runtimes: dict[str, Runtime],
        tmpfs_size: int,
        max_output_files: int,
        demote_after_cpu: float,
    ):
        self.binary = binary
        self.config = config
        self.cgroups = cgroups
        self.workdir = workdir
        self.uids = uids
        self.runtimes = runtimes
        self.tmpfs_size = tmpfs_size
        self.max_output_files = max_output_files
        self.demote_after_cpu = demote_after_cpu
        self._views = {
            (name, with_figures): runtime.expose(workdir, with_figures)
            for name, runtime in runtimes.items()
            for with_figures in (False, True)
        }

    def command(
        self,
        runtime: Runtime,
        limits: JailLimits,
        backstop: int,
        uid: int,
        home: Path,
        log_fd: int,
        python_args: tuple[str, ...],
        pass_fds: tuple[int, ...] = (),
        figures: bool = False,
    ) -> list[str]:
        """nsjail running `runtime` with `python_args` after its flags as host `uid`,
        within `limits`, killed `backstop` seconds after it started, keeping
        `pass_fds` open for the job, saving its open figures at exit if `figures`."""
        return [
            self.binary,
            "--config",
            str(self.config),
            "--log_fd",
            str(log_fd),
            "--time_limit",
            str(backstop),
            "--user",
            f"{INSIDE_UID}:{uid}:1",
            *self.cgroups.nsjail_args(limits),
            "--bindmount",
            f"{home}:/home",
            "--bindmount_ro",
            f"{self._views[runtime.name, figures]}:{runtime.jail_prefix}",
            *(f"--env={name}={value}" for name, value in runtime.jail_environment.items()),
            *(f"--pass_fd={fd}" for fd in pass_fds),
            "--",
            runtime.executable_path,
            *PYTHON_FLAGS,
            *python_args,
        ]

    def run(self, spec: RunSpec, watch: Watch | None = None) -> EvalResult:
        """Run one job in a cold jail, started for it; InputFileError for bad files."""
        with Run(self) as run:
            run.load(spec)
            # nsjail's own limit is a backstop; snekbox stops the job at the exact limit.
            run.start(
                spec.runtime,
                spec.limits.jail,
                math.ceil(spec.limits.time) + 1,
                spec.args,
                figures=spec.figures,
            )
            return run.finish(spec, watch)


class Runner(Protocol):
    """A jail that runs one job: NsJail (a cold run) or a warm jail."""

    def run(self, spec: RunSpec, watch: Watch | None = None) -> EvalResult: ...


def run_safely(jail: Runner, spec: RunSpec, watch: Watch | None = None) -> EvalResult:
    """Like `jail.run`, but a host failure (mount, spawn) becomes an internal_error result."""
    try:
        return jail.run(spec, watch)
    except OSError as e:
        log.exception("could not run a job")
        return EvalResult.internal_error(f"snekbox could not run the job: {e.strerror or e}")
