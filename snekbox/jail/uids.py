"""Host uids for jails: each live jail runs as a host uid that no other live jail has.

The kernel keeps some counters per user: pipe buffer pages, descriptors in flight over unix
sockets. Jails sharing one host uid would share them, so one job could shrink another's
pipes or make its SCM_RIGHTS fail. A uid is leased by an exclusive flock on a file named
after it, in a directory every snekbox on the host shares. nsjail inherits the locked
descriptor (its job does not), so the uid stays leased until nsjail has exited, even if
the worker that started it died first.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path


class NoFreeUid(OSError):
    """Every uid of the range is leased to a live jail."""


class UidLease:
    """One leased uid; `fd` holds the lease and must reach nsjail. Close to release."""

    def __init__(self, uid: int, fd: int):
        self.uid = uid
        self.fd = fd

    def close(self) -> None:
        """Give the uid back (once nsjail, which shares the lease, has exited too)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> UidLease:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class UidRange:
    """Leases uids `first` .. `first + count - 1`, tracked with lock files in `directory`."""

    def __init__(self, directory: Path, first: int, count: int):
        self.directory = directory
        self.first = first
        self.count = count
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._owner = 0
        self._next = 0

    def lease(self) -> UidLease:
        """A uid no live jail has; NoFreeUid when all of them are taken."""
        if self._owner != os.getpid():
            # Each worker starts at a place of its own (not its parent's, after a fork), so
            # that workers rarely try the same files. Threads may race on _next: harmless,
            # as the flock decides.
            self._owner, self._next = os.getpid(), os.getpid() % self.count
        for _ in range(self.count):
            offset, self._next = self._next, (self._next + 1) % self.count
            uid = self.first + offset
            fd = os.open(self.directory / str(uid), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return UidLease(uid, fd)
        raise NoFreeUid(
            f"all {self.count} job uids from {self.first} are in use by live jails; "
            "raise SNEKBOX_JOB_UID_COUNT"
        )


def clashes(first: int, count: int, accounts: Iterable[tuple[str, int]]) -> list[str]:
    """The host accounts (name, uid) whose uid lies in the range: they would share the
    per-user counters of jobs, and could signal or trace them."""
    return [f"{name} ({uid})" for name, uid in accounts if first <= uid < first + count]
