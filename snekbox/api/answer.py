"""The body of a POST /eval answer: the job's result as JSON, streamed.

The JSON around the files (output, verdict, paths, sizes) is encoded at once, with a marker
no job can guess where each file's content goes; each file is base64-encoded piece by piece
as it is sent. An answer so holds its job's result, that JSON and one piece, never the
base64 of its files whole (4/3 of them, and again while it was built).
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator

from snekbox.result import EvalResult

# Bytes of a file per piece: a multiple of 3, so that the pieces' base64 joins up.
PIECE = 3 << 16
# Characters of output escaped at a time.
OUTPUT_SLICE = 1 << 16
# The slowest a client may take an answer, on average, after a grace of request_timeout.
MIN_SEND_RATE = 1 << 20
_ENCODER = json.JSONEncoder(ensure_ascii=False)


class AnswerTooSlow(TimeoutError):
    """The client took its answer too slowly: the connection is dropped."""


class Answer:
    """A job's answer as a WSGI body. What the request holds (its job slot) is given back
    only on close(), once the server has sent it (or given up): answers in memory count
    against the slots as jobs do. So that a client reading slowly cannot hold a slot for
    long, the answer must be taken within `grace` seconds plus one per MiB (MIN_SEND_RATE)."""

    def __init__(self, result: EvalResult, grace: float):
        self._release: Callable[[], None] = lambda: None
        marker = uuid.uuid4().hex
        quoted = _ENCODER.encode(marker)
        contents = iter([f.content for f in result.files])
        self._frame = io.BytesIO()
        # Where in the frame each file's base64 goes (between its two quotes), and what.
        self._holes: list[tuple[int, bytes]] = []
        document = result.to_json(file_content=marker)
        self._write_output(document.pop("stdout"))
        chunks = _ENCODER.iterencode(document)
        for chunk in [next(chunks).removeprefix("{"), *chunks]:
            first, *rest = chunk.split(quoted)
            self._frame.write(first.encode())
            for part in rest:
                self._frame.write(b'"')
                self._holes.append((self._frame.tell(), next(contents)))
                self._frame.write(b'"' + part.encode())
        self._end = self._frame.tell()
        self.size = self._end + sum(4 * -(-len(c) // 3) for _, c in self._holes)
        self.seconds = grace + self.size / MIN_SEND_RATE

    def _write_output(self, stdout: str) -> None:
        """`{"stdout": "...", ` escaped a slice at a time: escaped whole, as one str, the
        output could take 24 bytes a character (`\\u0001` in a str that also holds a
        character past U+FFFF)."""
        self._frame.write(b'{"stdout": "')
        for i in range(0, len(stdout), OUTPUT_SLICE):
            self._frame.write(_ENCODER.encode(stdout[i : i + OUTPUT_SLICE])[1:-1].encode())
        self._frame.write(b'", ')

    def __iter__(self) -> Iterator[bytes]:
        deadline = time.monotonic() + self.seconds
        for piece in self._pieces():
            if time.monotonic() > deadline:
                raise AnswerTooSlow(f"the answer was not taken within {self.seconds:.0f} s")
            yield piece

    def _pieces(self) -> Iterator[bytes]:
        start = 0
        for offset, content in [*self._holes, (self._end, b"")]:
            yield from self._frame_between(start, offset)
            for i in range(0, len(content), PIECE):
                yield base64.b64encode(content[i : i + PIECE])
            start = offset

    def _frame_between(self, start: int, end: int) -> Iterator[bytes]:
        while start < end:
            self._frame.seek(start)
            piece = self._frame.read(min(PIECE, end - start))
            start += len(piece)
            yield piece

    def on_close(self, release: Callable[[], None]) -> None:
        """Call `release` when the answer is closed. Handed over once the answer exists, so
        that an answer that could not be made leaves it to its caller."""
        self._release = release

    def close(self) -> None:
        self._release()
        self._frame.close()
