"""Jobs: a client's request turned into a jail run, within the service's limits."""

from __future__ import annotations

import contextlib
import dataclasses
import math

from snekbox.jail import (InputFileError, NsJail, RunSpec, Runtime, prepare, run_safely,
                          validate_path)
from snekbox.jobs.health import HealthCheck
from snekbox.jobs.pool import WarmPool
from snekbox.jobs.slots import Slots
from snekbox.limits import JobLimits
from snekbox.result import EvalResult
from snekbox.settings import Settings


# Linux refuses to exec a single argument of 128 KiB or more (MAX_ARG_STRLEN, with its NUL).
MAX_ARG_BYTES = 131071
MAX_ARGS_BYTES = 1_000_000


class JobError(ValueError):
    """The request cannot be run as asked; the message tells the client why."""


@dataclasses.dataclass(frozen=True)
class EvalRequest:
    """A validated request: what to run, with what, and within which limits."""

    args: tuple[str, ...]
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    stdin: bytes = b""
    limits: dict[str, float] = dataclasses.field(default_factory=dict)
    executable_path: str | None = None
    version: str | None = None


class Jobs:
    """Runs requests on a jail, at most `slots.size` at once, warm jails first."""

    def __init__(self, jail: NsJail, settings: Settings, slots: Slots):
        self.jail = jail
        self.settings = settings
        self.slots = slots
        self.health = HealthCheck(jail, jail.runtimes["default"], settings.health_interval)
        self.pool = WarmPool(jail, jail.runtimes["default"], settings.memory_limit,
                             settings.max_time_limit, settings.pool_per_worker)

    def start_pool(self) -> None:
        """Keep warm jails ready in this process (a gunicorn worker, after the fork)."""
        if self.pool.size > 0:
            self.pool.start()

    def close(self) -> None:
        """End the warm jails still waiting."""
        self.pool.close()

    @classmethod
    def start(cls, settings: Settings) -> Jobs:
        """Prepare the host and a jail; JailSetupError says what is missing."""
        return cls(prepare(settings), settings,
                   Slots(settings.jobs_at_once, settings.max_queue))

    @property
    def runtimes(self) -> dict[str, Runtime]:
        return self.jail.runtimes

    def runtime_for(self, executable_path: str | None, version: str | None) -> Runtime:
        """The runtime a request names by path or by version, or the default one."""
        if executable_path is not None and version is not None:
            raise JobError("give either 'executable_path' or 'version', not both")
        if version is not None:
            if version not in self.runtimes:
                raise JobError(f"unknown version {version!r}; available: "
                               f"{', '.join(sorted(self.runtimes))} (see GET /runtimes)")
            return self.runtimes[version]
        if executable_path is None:
            return self.runtimes["default"]
        for runtime in self.runtimes.values():
            if runtime.executable_path == executable_path:
                return runtime
        paths = ", ".join(sorted(r.executable_path for r in self.runtimes.values()))
        raise JobError(f"unknown executable_path {executable_path!r}; available: {paths}")

    def limits_for(self, requested: dict[str, float]) -> JobLimits:
        """The request's limits, each defaulted and checked against the configured maximum."""
        s = self.settings
        bounds = {"time": (s.time_limit, s.max_time_limit),
                  "memory": (s.memory_limit, s.max_memory_limit),
                  "output": (s.output_limit, s.max_output_limit)}
        values = {}
        for name, (default, maximum) in bounds.items():
            value = requested.get(name, default)
            if not math.isfinite(value) or value <= 0:
                raise JobError(f"limits.{name} is {value}; it must be a positive number")
            if value > maximum:
                raise JobError(f"limits.{name} is {value}, over the maximum of {maximum}")
            values[name] = value
        return JobLimits(time=float(values["time"]), memory=int(values["memory"]),
                         output=int(values["output"]))

    @staticmethod
    def check_args(args: tuple[str, ...]) -> None:
        """Refuse arguments that exec(2) cannot take, with a reason instead of a failed run."""
        if not args:
            raise JobError("nothing to run: give 'input' or 'args'")
        total = 0
        for arg in args:
            if "\0" in arg:
                raise JobError("arguments cannot contain NUL characters")
            try:
                size = len(arg.encode("utf-8"))
            except UnicodeEncodeError:
                raise JobError("arguments must be valid Unicode (no lone surrogates)") from None
            if size > MAX_ARG_BYTES:
                raise JobError(f"an argument (or 'input') holds {size} bytes; at most "
                               f"{MAX_ARG_BYTES} are possible: put larger code in 'files'")
            total += size
        if total > MAX_ARGS_BYTES:
            raise JobError(f"arguments hold {total} bytes, over {MAX_ARGS_BYTES}")

    def check_files(self, files: dict[str, bytes]) -> None:
        """Refuse bad paths and oversized input before taking a slot."""
        try:
            for path in files:
                validate_path(path)
        except InputFileError as e:
            raise JobError(str(e)) from None
        total = sum(len(content) for content in files.values())
        if total > self.settings.tmpfs_size:
            raise JobError(f"input files hold {total} bytes; /home holds at most "
                           f"{self.settings.tmpfs_size}")

    def spec_for(self, request: EvalRequest) -> RunSpec:
        self.check_args(request.args)
        self.check_files(request.files)
        return RunSpec(
            runtime=self.runtime_for(request.executable_path, request.version),
            args=request.args,
            limits=self.limits_for(request.limits),
            files=request.files,
            stdin=request.stdin,
        )

    def run(self, request: EvalRequest) -> EvalResult:
        """Run a request; JobError for a bad one, Overloaded when no slot is to be had."""
        spec = self.spec_for(request)
        with self.slot():
            return self.run_in_slot(spec)

    def slot(self) -> contextlib.AbstractContextManager[None]:
        """One of the service's job slots: wait for it, or Overloaded when the queue is
        full. Held across run_in_slot by a caller that keeps the job's answer in memory
        until it is sent, so that answers count against the slots too."""
        return self.slots.hold()

    def run_in_slot(self, spec: RunSpec) -> EvalResult:
        """Run a checked request (spec_for) within a slot the caller holds; JobError for
        input files that cannot be written."""
        try:
            return self._run(spec)
        except InputFileError as e:
            raise JobError(str(e)) from None

    def _run(self, spec: RunSpec) -> EvalResult:
        result = self.pool.run(spec)
        return result if result is not None else run_safely(self.jail, spec)
