"""Server-sent events: the framing of the streamed answers of POST /eval and POST /judge.

Each event is `event: NAME`, then `data: ` and one line of JSON, then an empty line. JSON
escapes line breaks and carriage returns, so no text a job writes can break the framing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import falcon

MEDIA_TYPE = "text/event-stream"
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def wanted(req: falcon.Request) -> bool:
    """Whether the client asked for events (Accept: text/event-stream) rather than JSON."""
    return req.client_prefers([falcon.MEDIA_JSON, MEDIA_TYPE]) == MEDIA_TYPE


def event(name: str, data: object) -> bytes:
    """One event whose data is `data` as JSON."""
    return b"".join(framed(name, [_ENCODER.encode(data).encode()]))


def framed(name: str, json_pieces: Iterable[bytes]) -> Iterator[bytes]:
    """One event whose data is JSON already encoded, in pieces (none holding a line break)."""
    yield f"event: {name}\ndata: ".encode()
    yield from json_pieces
    yield b"\n\n"
