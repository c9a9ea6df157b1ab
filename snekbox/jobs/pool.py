"""A small stock of warm jails, each for exactly one job, topped up in the background.

Only jobs that a warm jail runs exactly as a cold one would are served from the stock:
the default runtime, the default memory and process limits (a jail's cgroup is set when
it starts), and `-c CODE` or a script among the input files (see snekbox.jail.bootstrap).
Every other job, and any job that finds the stock empty, takes the cold path. Jails that
waited longer than warm.MAX_WAIT are replaced.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from snekbox.jail import NsJail, RunSpec, Runtime, Watch, bootstrap, run_safely
from snekbox.jail.warm import MAX_WAIT, HandoverError, WarmJail
from snekbox.limits import JailLimits
from snekbox.result import EvalResult

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
# A jail taken for a job is replaced once that job has ended, or this many seconds after it
# began if it runs longer: a jail started while a short job ends slows that job down (the
# kernel serialises parts of namespace set-up and tear-down), and long jobs must not leave
# the stock empty.
REPLACE_AFTER = 0.25


class WarmPool:
    """Keeps `size` warm jails of `runtime` within `limits` ready."""

    def __init__(
        self, jail: NsJail, runtime: Runtime, limits: JailLimits, max_time: float, size: int
    ):
        self.jail = jail
        self.runtime = runtime
        self.limits = limits
        self.max_time = max_time
        self.size = size
        self._ready: collections.deque[WarmJail] = collections.deque()
        self._running: list[float] = []
        self._changed = threading.Condition()
        self._closed = False
        self._filler: threading.Thread | None = None

    def serves(self, spec: RunSpec) -> bool:
        return (
            spec.runtime == self.runtime
            and spec.limits.jail == self.limits
            and bootstrap.serves(spec.args, spec.files)
        )

    def start(self) -> None:
        """Start topping the stock up; call it in the process that will run the jobs."""
        self._filler = threading.Thread(target=self._fill, name="warm-pool", daemon=True)
        self._filler.start()

    def run(self, spec: RunSpec, watch: Watch | None = None) -> EvalResult | None:
        """Run `spec` in the warm jail that waited longest; None when no warm jail could."""
        if not self.serves(spec):
            return None
        with self._changed:
            if not self._ready or self._oldest_expired():
                return None
            warm = self._ready.popleft()
            began = time.monotonic()
            self._running.append(began)
            self._changed.notify()
        try:
            return run_safely(warm, spec, watch)
        except HandoverError as e:
            log.warning("%s; running the job in a cold jail", e)
            return None
        finally:
            with self._changed:
                self._running.remove(began)
                self._changed.notify()

    def close(self) -> None:
        """Stop topping up and end every warm jail still waiting."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._filler is not None:
            self._filler.join()
        while self._ready:
            self._ready.popleft().close()

    def _oldest_expired(self) -> bool:
        return bool(self._ready) and self._ready[0].expired

    def _missing(self) -> int:
        now = time.monotonic()
        recent = sum(1 for began in self._running if now - began < REPLACE_AFTER)
        return self.size - len(self._ready) - recent

    def _has_work(self) -> bool:
        return self._closed or self._missing() > 0 or self._oldest_expired()

    def _next_change(self) -> float | None:
        """Seconds until a waiting jail expires or a running job is due for replacement."""
        moments = [began + REPLACE_AFTER for began in self._running]
        if self._ready:
            moments.append(self._ready[0].born + MAX_WAIT)
        now = time.monotonic()
        future = [moment - now for moment in moments if moment > now]
        return min(future) if future else None

    def _fill(self) -> None:
        while True:
            with self._changed:
                # The next change is worked out again after every wake-up: a job that
                # began meanwhile is due for replacement sooner than anything before.
                while not self._has_work():
                    self._changed.wait(self._next_change())
                if self._closed:
                    return
                stale = self._ready.popleft() if self._oldest_expired() else None
                missing = self._missing() > 0
            if stale is not None:
                stale.close()
            elif missing and not self._add():
                with self._changed:
                    self._changed.wait_for(lambda: self._closed, RETRY_SECONDS)

    def _add(self) -> bool:
        try:
            warm = WarmJail(self.jail, self.runtime, self.limits, self.max_time)
        except OSError:
            log.exception("could not prepare a warm jail")
            return False
        with self._changed:
            self._ready.append(warm)
        return True
