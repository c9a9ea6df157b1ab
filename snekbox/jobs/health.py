"""A cheap /health: the result of a real tiny jail run, reused for a while."""

from __future__ import annotations

import threading
import time

from snekbox.jail import NsJail, run_safely
from snekbox.jobs.request import RequestParser

PROBE_CODE = "print(6 * 7)"


class HealthCheck:
    """Runs `print(6 * 7)` in the jail at most once per `interval` seconds, as a client's
    request with the service's defaults would run."""

    def __init__(self, jail: NsJail, requests: RequestParser, interval: float):
        self.jail = jail
        self.spec = requests.parse({"input": PROBE_CODE})
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
                self._detail = (
                    "a job ran"
                    if self._ok
                    else (
                        f"a probe job failed: status {result.status.value}, "
                        f"returncode {result.returncode}"
                    )
                )
                self._checked_at = time.time()
            return self._ok, self._detail, self._checked_at
