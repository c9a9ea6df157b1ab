"""A cheap /health: the result of a real tiny jail run, reused for a while."""

from __future__ import annotations

import threading
import time

from snekbox.jail import NsJail, RunSpec, Runtime, run_safely
from snekbox.limits import JobLimits

PROBE_CODE = "print(6 * 7)"
PROBE_LIMITS = JobLimits(time=5, memory=52428800, output=100)


class HealthCheck:
    """Runs `print(6 * 7)` in the jail at most once per `interval` seconds."""

    def __init__(self, jail: NsJail, runtime: Runtime, interval: float):
        self.jail = jail
        self.spec = RunSpec(runtime=runtime, args=("-c", PROBE_CODE), limits=PROBE_LIMITS)
        self.interval = interval
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._detail = "not checked yet"
        self._ok = False

    def check(self) -> tuple[bool, str, float]:
        """(healthy, detail, when checked), refreshed if older than `interval`."""
        with self._lock:
            if time.time() - self._checked_at >= self.interval:
                result = run_safely(self.jail, self.spec)
                self._ok = result.returncode == 0 and result.stdout == "42\n"
                self._detail = "a job ran" if self._ok else (
                    f"a probe job failed: status {result.status.value}, "
                    f"returncode {result.returncode}")
                self._checked_at = time.time()
            return self._ok, self._detail, self._checked_at
