"""How many bytes of request bodies a worker holds at once, so that big requests cannot
exhaust its memory: a body takes about four times its size while it is parsed, and its
files stay in memory until its job has run."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class BudgetExhausted(RuntimeError):
    """The bytes a body needs are held by other requests."""


class BodyBudget:
    """Bytes of request bodies held at once, from reading a body until its answer is sent."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._held = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[Hold]:
        """Hold `size` bytes (more as the hold grows) within the block; BudgetExhausted
        when they are not free."""
        hold = Hold(self)
        try:
            hold.grow(size)
            yield hold
        finally:
            self._give_back(hold.size)

    def _take(self, size: int) -> None:
        with self._lock:
            if self._held + size > self.capacity:
                raise BudgetExhausted(f"{self._held} of {self.capacity} bytes of request bodies "
                                      "are held by other requests (SNEKBOX_BODY_BUDGET)")
            self._held += size

    def _give_back(self, size: int) -> None:
        with self._lock:
            self._held -= size


class Hold:
    """The bytes one request holds: its Content-Length, or a chunked body's as it arrives."""

    def __init__(self, budget: BodyBudget):
        self._budget = budget
        self.size = 0

    def grow(self, size: int) -> None:
        """Hold `size` bytes more; BudgetExhausted when they are not free."""
        self._budget._take(size)
        self.size += size
