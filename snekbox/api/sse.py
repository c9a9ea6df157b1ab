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
    """Whether the client asked for events: it names text/event-stream in Accept, at a
    quality no lower than JSON's. A wildcard alone (curl's `*/*`) keeps the JSON answer."""
    named = any(part.split(";")[0].strip().lower() == MEDIA_TYPE for part in req.accept.split(","))
    return named and req.client_prefers([MEDIA_TYPE, falcon.MEDIA_JSON]) == MEDIA_TYPE


def event(name: str, data: object) -> bytes:
    """One event whose data is `data` as JSON."""
    return b"".join(framed(name, [_ENCODER.encode(data).encode()]))


def framed(name: str, json_pieces: Iterable[bytes]) -> Iterator[bytes]:
    """One event whose data is JSON already encoded, in pieces (none holding a line break)."""
    yield f"event: {name}\ndata: ".encode()
    yield from json_pieces
    yield b"\n\n"
