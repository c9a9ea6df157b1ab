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
    def hold(self, count: int = 1) -> Iterator[None]:
        """Wait for `count` slots taken at once (a judge's cases), or raise Overloaded at
        once when the queue is already full. One place in the queue is enough to wait."""
        if not 0 < count <= self.size:
            raise ValueError(f"{count} slots asked for; there are {self.size}")
        if not self._change(RUNNING, -count, IPC_NOWAIT):
            if not self._change(QUEUE, -1, IPC_NOWAIT):
                raise Overloaded(f"{self.running} jobs are running and {self.waiting} waiting")
            try:
                self._change(RUNNING, -count, 0)
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

    def _change(self, number: int, delta: int, flags: int) -> bool:
        """Add `delta` to a semaphore, blocking unless IPC_NOWAIT; False if it would block."""
        operation = _SemBuf(number, delta, flags | SEM_UNDO)
        while _libc.semop(self._id, ctypes.byref(operation), 1) != 0:
            error = ctypes.get_errno()
            if error == errno.EAGAIN:
                return False
            if error != errno.EINTR:
                _raise("semop")
        return True


def _raise(call: str) -> None:
    error = ctypes.get_errno()
    raise OSError(error, f"{call}: {os.strerror(error)}")
