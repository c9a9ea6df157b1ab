"""A streamed answer: events made by work on a thread of its own, sent as they come (or
one JSON document, for a judge whose client did not ask for events).

The work (a job, or a judge's cases) runs on its own thread and puts its events on a
queue; the WSGI body takes them off and gunicorn writes each at once. The queue is not
bounded by count but by the job's output limit: output is cut at it before it is queued,
as bytes made into an event only when sent, so that a stream holds no more than a
non-streamed answer would. A client that goes away is
noticed within CLIENT_POLL seconds even while its job is quiet, and close() (gunicorn calls
it once the answer is sent or the client is gone) cancels the work, waits for its end and
only then gives back what the request holds (its job slots, its body's bytes).
"""

from __future__ import annotations

import errno
import logging
import math
import queue
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from snekbox.api.answer import MIN_SEND_RATE, AnswerTooSlow
from snekbox.jail import Cancelled

log = logging.getLogger(__name__)
CLIENT_POLL = 0.2

Put = Callable[[Iterable[bytes], int], None]  # an event in pieces, and its size in bytes


class EventStream:
    """A WSGI body of the events `work` puts (see Put). The work is started by begin();
    `started` is set by the work once its job runs, and `cancel` stops it."""

    def __init__(
        self,
        work: Callable[[Put], None],
        started: threading.Event,
        cancel: threading.Event,
        client: socket.socket | None,
        grace: float,
    ):
        self._work = work
        self._started = started
        self._cancel = cancel
        self._client = client
        self._grace = grace
        self._events: queue.SimpleQueue[Iterable[bytes] | None] = queue.SimpleQueue()
        self._size = 0
        self._size_lock = threading.Lock()  # cases of a judge put events at once
        self._seconds = math.inf
        self._deadline = math.inf
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)
        self._release: Callable[[], None] = lambda: None

    def begin(self) -> None:
        """Start the work and wait until its job runs: what the work raises before then
        (JobError for bad input files) is raised here, for an ordinary error answer."""
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def on_close(self, release: Callable[[], None]) -> None:
        """Call `release` on close(), once the work has ended (see Answer.on_close)."""
        self._release = release

    def _put(self, pieces: Iterable[bytes], size: int) -> None:
        with self._size_lock:
            self._size += size
        self._events.put(pieces)

    def _run(self) -> None:
        try:
            self._work(self._put)
        except Cancelled:
            pass
        except Exception as e:
            if not self._started.is_set():
                self._failure = e
            else:
                log.exception("streamed work failed")
        finally:
            # What is left must be taken as an answer of its size would be (see Answer).
            self._seconds = self._grace + self._size / MIN_SEND_RATE
            self._deadline = time.monotonic() + self._seconds
            self._events.put(None)
            self._started.set()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                pieces = self._events.get(timeout=CLIENT_POLL)
            except queue.Empty:
                if self._client_gone():
                    raise BrokenPipeError(errno.EPIPE, "the client went away") from None
                continue
            if pieces is None:
                return
            for piece in pieces:
                if time.monotonic() > self._deadline:
                    raise AnswerTooSlow(
                        f"the end of the answer was not taken within {self._seconds:.0f} s"
                    )
                yield piece

    def _client_gone(self) -> bool:
        """Whether the client closed its end (or the connection failed), without reading
        what it may have sent next."""
        if self._client is None:
            return False
        poller = select.poll()
        poller.register(self._client, select.POLLRDHUP)
        return bool(poller.poll(0))

    def close(self) -> None:
        self._cancel.set()
        self._thread.join()
        self._release()
