"""gunicorn's threaded worker, with a deadline for each request to arrive.

The stock worker hands a connection to a thread as soon as it is readable, and the thread
then blocks until the whole request is in: a hundred clients sending a byte now and then
(slowloris) would hold every thread and the service would answer no one. Here each
request must arrive within `request_timeout` seconds, headers and body together, and its
answer must be taken within as long again.
"""

from __future__ import annotations

import socket
import time

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import TConn, ThreadWorker

from snekbox import settings


class RequestTooSlow(NoMoreData):
    """The request did not arrive in time. A NoMoreData, so that gunicorn drops such a
    connection quietly while headers are read; the body reader answers 408."""

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


class DeadlineThreadWorker(ThreadWorker):
    """gthread, with a fresh deadline for each request on a connection."""

    def handle(self, conn: TConn) -> tuple[bool, TConn]:
        conn.parser.unreader.sock = DeadlineReader(conn.sock, settings.current().request_timeout)
        return super().handle(conn)
