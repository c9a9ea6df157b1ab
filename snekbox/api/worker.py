"""gunicorn's threaded worker, with deadlines for clients that are slow or silent.

The stock worker hands a connection to a thread as soon as it is readable, and the thread
then blocks until the whole request is in: a hundred clients sending a byte now and then
(slowloris) would hold every thread and the service would answer no one. It also keeps a
new connection that never sends anything for ever, and stops accepting at
`worker_connections` (1000): two thousand idle connections were enough to shut the
service. Here a new connection must start its request within `request_timeout` seconds,
each request must arrive within as long (headers and body together), and each write of
its answer must be taken within as long again (the answer as a whole has a deadline of its
own: snekbox/api/answer.py).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import resource
import selectors
import socket
import time

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker

from snekbox import settings


class RequestTooSlow(NoMoreData, TimeoutError):
    """The request did not arrive in time. A NoMoreData, so that gunicorn drops such a
    connection quietly while headers are read; a TimeoutError, so that the body reader
    answers 408 (and 400 for other errors, such as a malformed chunked body)."""

    def __str__(self) -> str:
        return "the request did not arrive in time"


class DeadlineReader:
    """The socket as the request parser sees it: every read shares one deadline."""

    def __init__(self, sock: socket.socket, seconds: float):
        self.sock = sock
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RequestTooSlow()
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except TimeoutError:
            raise RequestTooSlow() from None
        finally:
            # What follows may be the answer: writing it gets as long again.
            self.sock.settimeout(self.seconds)


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8


def _return_freed_memory() -> None:
    """Make glibc give big freed blocks back to the system. By default it raises its mmap
    threshold after each big free and keeps an arena per thread, so the memory request
    bodies took stayed with the worker (335 MB after a few 45 MB requests)."""
    libc = ctypes.CDLL(None)
    libc.mallopt(M_MMAP_THRESHOLD, 256 << 10)
    libc.mallopt(M_ARENA_MAX, 2)


class DeadlineThreadWorker(ThreadWorker):
    """gthread, with a deadline for a new connection's first bytes and for each request."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        # Room for worker_connections (1000) and the jobs' descriptors: a shell's usual soft
        # limit of 1024 would make accept() fail first.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        _return_freed_memory()
        self.request_timeout = settings.current().request_timeout
        self._silent: dict[TConn, float] = {}  # new connections, oldest first: their deadline

    def accept(self, server: object, listener: socket.socket) -> None:
        """As gthread's, and the connection is closed if it stays silent too long."""
        try:
            sock, client = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        conn = TConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        with self._lock:
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 functools.partial(self.on_client_socket_readable, conn))
            self._silent[conn] = time.monotonic() + self.request_timeout

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        with self._lock:
            self._silent.pop(conn, None)
        super().on_client_socket_readable(conn, client)

    def murder_keepalived(self) -> None:
        """Close idle kept-alive connections (gthread's own) and silent new ones."""
        super().murder_keepalived()
        now = time.monotonic()
        with self._lock:
            expired = []
            for conn, deadline in self._silent.items():
                if deadline > now:
                    break
                expired.append(conn)
            for conn in expired:
                del self._silent[conn]
                self.poller.unregister(conn.sock)
        for conn in expired:
            self.nr_conns -= 1
            conn.close()

    def handle(self, conn: TConn) -> tuple[bool, TConn]:
        conn.parser.unreader.sock = DeadlineReader(conn.sock, self.request_timeout)
        return super().handle(conn)

    def handle_request(self, req: object, conn: TConn) -> bool:
        """As gthread's; a client too slow to take its answer is dropped with a line in the
        log, not a traceback (gthread logs any socket error but a reset as one)."""
        try:
            return super().handle_request(req, conn)
        except TimeoutError as e:
            self.log.info("dropped %s, too slow to take its answer: %s", conn.client, e)
            raise StopIteration() from None  # gthread then closes the connection
