"""A bounded number of jobs at once, and a bounded queue of requests waiting for one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class Overloaded(RuntimeError):
    """Every slot is busy and the queue is full: the client should retry later."""


class Slots:
    """At most `size` holders at once; at most `queue` more may wait, others are refused."""

    def __init__(self, size: int, queue: int):
        self.size = size
        self.queue = queue
        self._free = threading.Semaphore(size)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for a slot, or raise Overloaded at once when the queue is already full."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise Overloaded(f"{self.size} jobs are running and {self._waiting} waiting")
                self._waiting += 1
            try:
                self._free.acquire()
            finally:
                with self._lock:
                    self._waiting -= 1
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._free.release()
