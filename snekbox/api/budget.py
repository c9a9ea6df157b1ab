"""How many bytes of request bodies a worker holds at once, so that big requests cannot
exhaust its memory. A request holds its body's bytes as they arrive, then its text and
what that parses into, then what its job needs of it, until its answer is sent; the first
FREE_BYTES of every request are not counted, so small requests never wait on big ones."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

FREE_BYTES = 1 << 18


class BudgetExhausted(RuntimeError):
    """The bytes a request needs are held by other requests: try again shortly."""


class Unaffordable(BudgetExhausted):
    """A request needs more than the whole budget: it can never be taken."""


class BodyBudget:
    """Bytes of request bodies held at once, from reading a body until its answer is sent."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._held = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[Hold]:
        """A hold for one request, given back at the end of the block."""
        hold = Hold(self)
        try:
            yield hold
        finally:
            self.change(-hold.size)

    def change(self, size: int) -> None:
        """Hold `size` bytes more (less, if negative); BudgetExhausted if they are not free."""
        with self._lock:
            if size > 0 and self._held + size > self.capacity:
                raise BudgetExhausted(
                    f"{self._held} of {self.capacity} bytes of request bodies "
                    "are held by other requests (SNEKBOX_BODY_BUDGET)"
                )
            self._held += size


class Hold:
    """The bytes one request holds, beyond the FREE_BYTES every request has."""

    def __init__(self, budget: BodyBudget):
        self._budget = budget
        self.used = 0  # counted and free alike
        self.size = 0  # counted against the budget

    def grow(self, size: int) -> None:
        """Hold `size` bytes more; BudgetExhausted when they are not free, Unaffordable
        when the request would need more than the whole budget."""
        counted = max(self.used + size - FREE_BYTES, 0) - self.size
        if self.size + counted > self._budget.capacity:
            raise Unaffordable(
                f"the request needs more than the {self._budget.capacity} bytes "
                "a worker holds for request bodies (SNEKBOX_BODY_BUDGET)"
            )
        self._budget.change(counted)
        self.used += size
        self.size += counted

    def settle(self, size: int) -> None:
        """Hold only `size` bytes from now on (what is still needed), if that is less."""
        if size < self.used:
            counted = max(size - FREE_BYTES, 0)
            self._budget.change(counted - self.size)
            self.used, self.size = size, counted
