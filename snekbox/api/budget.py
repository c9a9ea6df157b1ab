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
    def hold(self, size: int) -> Iterator[None]:
        """Hold `size` bytes within the block; BudgetExhausted when they are not free."""
        with self._lock:
            if self._held + size > self.capacity:
                raise BudgetExhausted(f"{self._held} of {self.capacity} bytes of request bodies "
                                      "are held by other requests (SNEKBOX_BODY_BUDGET)")
            self._held += size
        try:
            yield
        finally:
            with self._lock:
                self._held -= size
