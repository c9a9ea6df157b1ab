"""gunicorn's threaded worker, with deadlines and a bound for clients that are slow or silent.

gunicorn 27's gthread hands a new connection to a thread at once, which waits up to 5 s
for its first bytes; the thread then blocks until the whole request is in. A hundred
clients sending a byte now and then (slowloris), or a few hundred that stop half way,
would hold every thread, and the connections queued behind them would wait unseen. Here:

- a new connection waits for its first bytes in the poller, not on a thread, and is closed
  if it stays silent for `request_timeout` seconds;
- each request must arrive within `request_timeout` (headers and body together), counted
  from the connection's acceptance, or from when a kept-alive connection became readable
  for its next request: time spent queued for a thread counts;
- at most `max_reading` connections per worker are read at once (queued for a thread or
  on one); one more cuts off the one that has waited longest on its client, so stalled
  connections cannot hold the threads that requests need;
- a connection closing after its answer lingers in the poller, taking what the client still
  sends (up to max_body_size, until its request's deadline or 2 s) so that a client still
  sending a body refused from its headers gets its 413 and not a reset. gthread lingers
  on its main thread, where each client that kept its end open stopped the worker for 2 s,
  and for 64 KiB at most;
- each write of an answer must be taken within `request_timeout` (the answer as a whole
  has a deadline of its own: snekbox/api/answer.py).
"""

from __future__ import annotations

import collections
import ctypes
import errno
import functools
import math
import resource
import selectors
import socket
import threading
import time
import typing
from concurrent.futures import Future

from gunicorn.http.errors import InvalidHeader, NoMoreData, UnsupportedTransferCoding
from gunicorn.workers.gthread import TConn, ThreadWorker

from snekbox import settings

# A closing connection is drained for at least this long (as gunicorn's util.close_graceful).
LINGER_SECONDS = 2.0

_thread = threading.local()


def request_read() -> None:
    """Called by the app once it holds the whole request: its connection no longer waits
    on the client, so it no longer counts towards `max_reading` (nor can it be cut off)."""
    done = getattr(_thread, "request_read", None)
    if done is not None:
        done()


class RequestTooSlow(NoMoreData, TimeoutError):
    """The request did not arrive in time. A NoMoreData, so that gunicorn drops such a
    connection quietly while headers are read; a TimeoutError, so that the body reader
    answers 408 (and 400 for other errors, such as a malformed chunked body)."""

    def __init__(self, reason: str = "the request did not arrive in time"):
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class DeadlineReader:
    """The socket as the request parser sees it: every read of a request shares one
    deadline, and a connection cut off by the worker reads nothing more."""

    def __init__(self, sock: socket.socket, seconds: float):
        self.sock = sock
        self.seconds = seconds
        self.deadline = math.inf
        self.cut_off = False
        self.gave_up = False  # on the client: its connection is closed without lingering

    def start(self, since: float) -> None:
        self.deadline = since + self.seconds

    def cut(self) -> None:
        """Called from the main thread: a thread blocked in recv() gets EOF at once."""
        self.cut_off = self.gave_up = True
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def recv(self, size: int) -> bytes:
        if self.cut_off or time.monotonic() >= self.deadline:
            raise self._too_slow()
        self.sock.settimeout(self.deadline - time.monotonic())
        try:
            data = self.sock.recv(size)
        except TimeoutError:
            raise self._too_slow() from None
        finally:
            # What follows may be the answer: writing it gets as long again.
            self.sock.settimeout(self.seconds)
        if self.cut_off:
            raise self._too_slow()
        return data

    def _too_slow(self) -> RequestTooSlow:
        self.gave_up = True
        if self.cut_off:
            return RequestTooSlow("cut off: too many connections were waiting on their clients")
        return RequestTooSlow()


class Conn(TConn):
    """gthread's connection, read through a DeadlineReader."""

    def __init__(
        self,
        cfg: object,
        sock: socket.socket,
        client: object,
        server: object,
        seconds: float,
        linger: typing.Callable[[Conn], None],
    ):
        super().__init__(cfg, sock, client, server)
        self.since: float | None = time.monotonic()  # accepted: the first deadline counts from here
        self.reader = DeadlineReader(sock, seconds)
        self.linger = linger
        self.drained = 0

    def init(self) -> None:
        super().init()
        if hasattr(self.parser, "unreader"):
            self.reader.sock = self.sock
            self.parser.unreader.sock = self.reader

    def close(self, graceful: bool = False) -> None:
        # gthread closes gracefully on its main thread (util.close_graceful: up to 2 s). A
        # client given up on is not waited for: it would only have longer to keep sending.
        if graceful and not self.reader.gave_up:
            self.linger(self)
        else:
            super().close()


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8


def _return_freed_memory() -> None:
    """Make glibc give big freed blocks back to the system. By default it raises its mmap
    threshold after each big free and keeps an arena per thread, so the memory request
    bodies took stayed with the worker (335 MB after a few 45 MB requests)."""
    libc = ctypes.CDLL(None)
    libc.mallopt(M_MMAP_THRESHOLD, 256 << 10)
    libc.mallopt(M_ARENA_MAX, 2)


class DeadlineThreadWorker(ThreadWorker):
    """gthread, with deadlines counted from acceptance and a bound on connections being read."""

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        # Room for worker_connections (1000) and the jobs' descriptors: a shell's usual soft
        # limit of 1024 would make accept() fail first.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        _return_freed_memory()
        current = settings.current()
        self.request_timeout = current.request_timeout
        self.max_reading = current.max_reading
        self.max_linger_bytes = current.max_body_size
        # Each oldest first. _silent and _lingering belong to the main thread; _reading is
        # shared with the request threads, under _reading_lock.
        self._silent: dict[Conn, None] = {}
        self._reading: collections.OrderedDict[Conn, Future] = collections.OrderedDict()
        self._reading_lock = threading.Lock()
        self._lingering: dict[Conn, float] = {}

    def accept(self, listener: socket.socket) -> None:
        """As gthread's, but the connection waits for its first bytes in the poller (gthread
        waits on a thread), and at worker_connections the oldest silent one makes room."""
        try:
            sock, client = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        conn = Conn(
            self.cfg, sock, client, listener.getsockname(), self.request_timeout, self._linger
        )
        self._silent[conn] = None
        self.poller.register(sock, selectors.EVENT_READ, functools.partial(self._first_bytes, conn))
        if self.nr_conns >= self.worker_connections:
            self._close_silent(next(iter(self._silent)))

    def _first_bytes(self, conn: Conn, sock: socket.socket) -> None:
        self.poller.unregister(sock)
        del self._silent[conn]
        conn.data_ready = True  # so that gthread's handle() does not wait for data again
        self.enqueue_req(conn)

    def _close_silent(self, conn: Conn) -> None:
        del self._silent[conn]
        self.poller.unregister(conn.sock)
        self.nr_conns -= 1
        conn.close()

    def enqueue_req(self, conn: Conn) -> None:
        """As gthread's, with the request's deadline started and the connection counted as
        being read; beyond max_reading, the one read longest is cut off."""
        conn.reader.start(conn.since if conn.since is not None else time.monotonic())
        conn.since = None  # a kept-alive or pipelined request counts from now
        with self._reading_lock:
            future = self.tpool.submit(self.handle, conn)
            self._reading[conn] = future
            while len(self._reading) > self.max_reading:
                oldest, queued = self._reading.popitem(last=False)
                if not queued.cancel():  # cancelled if still queued, else on a thread
                    oldest.reader.cut()
        future.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut)
        )

    def _request_read(self, conn: Conn) -> None:
        with self._reading_lock:
            self._reading.pop(conn, None)

    def handle(self, conn: Conn) -> object:
        _thread.request_read = functools.partial(self._request_read, conn)
        try:
            return super().handle(conn)
        finally:
            _thread.request_read = None

    def finish_request(self, conn: Conn, future: object) -> None:
        self._request_read(conn)  # if the app did not say so (a request without a body)
        super().finish_request(conn, future)

    def _linger(self, conn: Conn) -> None:
        """Close after the answer, but first take what the client still sends."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, functools.partial(self._drain, conn)
            )
        except (OSError, ValueError, KeyError):
            TConn.close(conn)
            return
        self._lingering[conn] = max(conn.reader.deadline, time.monotonic() + LINGER_SECONDS)
        if len(self._lingering) > self.worker_connections:
            self._end_linger(next(iter(self._lingering)))

    def _drain(self, conn: Conn, sock: socket.socket) -> None:
        try:
            data = sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        conn.drained += len(data)
        if not data or conn.drained > self.max_linger_bytes:
            self._end_linger(conn)

    def _end_linger(self, conn: Conn) -> None:
        del self._lingering[conn]
        self.poller.unregister(conn.sock)
        TConn.close(conn)

    def murder_keepalived(self, force: bool = False) -> None:
        """gthread's (idle kept-alive connections), and silent new ones (all of them once
        the worker stops: they have sent nothing to answer) and lingering ones."""
        super().murder_keepalived(force)
        now = time.monotonic()
        for conn in list(self._silent):
            if conn.reader.seconds + (conn.since or now) > now and self.alive and not force:
                break
            self._close_silent(conn)
        for conn, deadline in list(self._lingering.items()):
            if deadline <= now or force:
                self._end_linger(conn)

    def handle_request(self, req: object, conn: Conn) -> bool:
        """As gthread's; a client too slow to take its answer is dropped with a line in the
        log, not a traceback (gthread logs any socket error but a reset as one)."""
        try:
            return super().handle_request(req, conn)
        except TimeoutError as e:
            self.log.info("dropped %s, too slow to take its answer: %s", conn.client, e)
            raise StopIteration() from None  # gthread then closes the connection

    def handle_error(
        self, req: object, client: socket.socket, addr: object, exc: BaseException
    ) -> None:
        """As gunicorn's, but an unknown transfer coding is a 400, not a 501: a 5xx says
        the server failed (RFC 9112 only suggests 501), and no coding but chunked is ever
        meant to reach snekbox."""
        if isinstance(exc, UnsupportedTransferCoding):
            exc = InvalidHeader(f"Transfer-Encoding {exc.hdr!r}"[:200], req)
        super().handle_error(req, client, addr, exc)
