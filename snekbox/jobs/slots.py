"""A bounded number of jobs at once in the whole service, and a bounded queue for a slot.

The counts are a System V semaphore set made before gunicorn forks its workers, so all
workers share one limit and one queue: a request never waits in one worker while another
has a free slot. Every change is made with SEM_UNDO, so the kernel gives back the slots
and queue places of a worker that dies holding them. The set lives in the service's
private IPC namespace (see snekbox.filesystem) and vanishes with the service.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import time
from collections.abc import Iterator

IPC_PRIVATE, IPC_NOWAIT, SEM_UNDO = 0, 0o4000, 0x1000
GETVAL, SETVAL = 12, 16
RUNNING, QUEUE = 0, 1

_libc = ctypes.CDLL(None, use_errno=True)


class _SemBuf(ctypes.Structure):
    _fields_ = [
        ("sem_num", ctypes.c_ushort),
        ("sem_op", ctypes.c_short),
        ("sem_flg", ctypes.c_short),
    ]


class Overloaded(RuntimeError):
    """Every slot is busy and the queue is full: the client should retry later."""


class Slots:
    """At most `size` holders at once; at most `queue` more may wait, others are refused."""

    def __init__(self, size: int, queue: int):
        self.size = size
        self.queue = queue
        self._id = _libc.semget(IPC_PRIVATE, 2, 0o600)
        if self._id < 0:
            _raise("semget")
        for number, value in ((RUNNING, size), (QUEUE, queue)):
            if _libc.semctl(self._id, number, SETVAL, ctypes.c_int(value)) < 0:
                _raise("semctl")

    @property
    def running(self) -> int:
        return self.size - self._value(RUNNING)

    @property
    def waiting(self) -> int:
        return self.queue - self._value(QUEUE)

    @contextlib.contextmanager
    def hold(self, count: int = 1, wait: float | None = None) -> Iterator[None]:
        """Wait for `count` slots taken at once (a judge's cases), or raise Overloaded at
        once when the queue is already full, or after `wait` seconds (None: no bound) when
        the slots were not all free together by then: jobs of one slot each can take the
        slots as they come free. One place in the queue is enough to wait."""
        if not 0 < count <= self.size:
            raise ValueError(f"{count} slots asked for; there are {self.size}")
        if not self._change(RUNNING, -count, IPC_NOWAIT):
            if not self._change(QUEUE, -1, IPC_NOWAIT):
                raise Overloaded(f"{self.running} jobs are running and {self.waiting} waiting")
            try:
                if not self._change(RUNNING, -count, 0, wait):
                    raise Overloaded(f"{count} job slots were not free together in {wait} s")
            finally:
                self._change(QUEUE, 1, 0)
        try:
            yield
        finally:
            self._change(RUNNING, count, 0)

    def _value(self, number: int) -> int:
        value = _libc.semctl(self._id, number, GETVAL)
        if value < 0:
            _raise("semctl")
        return value

    def _change(self, number: int, delta: int, flags: int, wait: float | None = None) -> bool:
        """Add `delta` to a semaphore, blocking unless IPC_NOWAIT (for `wait` seconds at
        most, if given); False if it would block, or did for that long."""
        operation = _SemBuf(number, delta, flags | SEM_UNDO)
        deadline = None if wait is None else time.monotonic() + wait
        while _semop(self._id, operation, deadline) != 0:
            error = ctypes.get_errno()
            if error == errno.EAGAIN:
                return False
            if error != errno.EINTR:
                _raise("semop")
        return True


class _TimeSpec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _semop(semaphores: int, operation: _SemBuf, deadline: float | None) -> int:
    """semop(2), or semtimedop(2) until `deadline` (EAGAIN once it has passed)."""
    if deadline is None:
        return _libc.semop(semaphores, ctypes.byref(operation), 1)
    left = max(deadline - time.monotonic(), 0.0)
    timeout = _TimeSpec(int(left), int(left % 1 * 1e9))
    return _libc.semtimedop(semaphores, ctypes.byref(operation), 1, ctypes.byref(timeout))


def _raise(call: str) -> None:
    error = ctypes.get_errno()
    raise OSError(error, f"{call}: {os.strerror(error)}")
