"""Jobs: run specs on the jail, a bounded number at once, warm jails first."""

from __future__ import annotations

import contextlib

from snekbox.jail import (
    Cancelled,
    InputFileError,
    NsJail,
    RunSpec,
    Runtime,
    Watch,
    prepare,
    run_safely,
)
from snekbox.jobs.health import HealthCheck
from snekbox.jobs.pool import WarmPool
from snekbox.jobs.request import RequestParser
from snekbox.jobs.slots import Slots
from snekbox.limits import JailLimits
from snekbox.result import EvalResult
from snekbox.settings import Settings


class JobError(ValueError):
    """The request's input files cannot be written as given; the message tells why."""


class Jobs:
    """Runs specs on a jail, at most `slots.size` at once, warm jails first."""

    def __init__(self, jail: NsJail, settings: Settings, slots: Slots):
        self.jail = jail
        self.settings = settings
        self.slots = slots
        self.requests = RequestParser(settings, jail.runtimes)
        self.health = HealthCheck(jail, self.requests, settings.health_interval)
        self.pool = WarmPool(
            jail,
            jail.runtimes["default"],
            JailLimits(settings.memory_limit, settings.process_limit),
            settings.max_time_limit,
            settings.pool_per_worker,
        )

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
        return cls(prepare(settings), settings, Slots(settings.jobs_at_once, settings.max_queue))

    @property
    def runtimes(self) -> dict[str, Runtime]:
        return self.jail.runtimes

    def run(self, spec: RunSpec) -> EvalResult:
        """Run a spec (see RequestParser); Overloaded when no slot is to be had."""
        with self.slot():
            return self.run_in_slot(spec)

    def slot(self, count: int = 1) -> contextlib.AbstractContextManager[None]:
        """`count` of the service's job slots, all at once: wait for them (several for
        request_timeout seconds at most), or Overloaded when the queue is full. Held across
        run_in_slot by a caller that keeps the job's answer in memory until it is sent, so
        that answers count against the slots too."""
        wait = None if count == 1 else self.settings.request_timeout
        return self.slots.hold(count, wait)

    def run_in_slot(self, spec: RunSpec, watch: Watch | None = None) -> EvalResult:
        """Run a spec within a slot the caller holds, followed by `watch` (Cancelled when it
        cancels the run); JobError for input files that cannot be written."""
        if watch is not None and watch.cancel.is_set():
            raise Cancelled("the run was cancelled before it began")
        try:
            return self._run(spec, watch)
        except InputFileError as e:
            raise JobError(str(e)) from None

    def _run(self, spec: RunSpec, watch: Watch | None) -> EvalResult:
        result = self.pool.run(spec, watch)
        return result if result is not None else run_safely(self.jail, spec, watch)
