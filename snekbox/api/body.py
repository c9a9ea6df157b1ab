"""Reading a JSON request body safely: size, content type, syntax and schema."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import typing

import falcon
from gunicorn.http.errors import ParseException

from snekbox.api.budget import Hold
from snekbox.api.worker import request_read
from snekbox.jobs.request import MAX_ERROR_LENGTH

_STRING = re.compile(rb'"[^"]*"')


@dataclasses.dataclass(frozen=True)
class Shape:
    """The most strings, and the most commas and brackets outside strings (one per JSON
    value but the first), that a valid body can hold."""

    strings: int
    separators: int


def check_headers(req: falcon.Request, max_size: int) -> None:
    """415 or 413 from the headers alone."""
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise falcon.HTTPUnsupportedMediaType(
            title="Unsupported media type",
            description=f"send the body as JSON with 'Content-Type: application/json', "
            f"not {content_type or 'no content type'!r}",
        )
    if req.content_length is not None and req.content_length > max_size:
        raise _too_large(max_size)


def read_json(req: falcon.Request, max_size: int, shape: Shape, hold: Hold) -> object:
    """The parsed body (after check_headers): its bytes held as they arrive, then its text
    and what that parses into. 413, 408 or 400 (with a reason) when it cannot be had;
    BudgetExhausted when it does not fit in what the worker holds for bodies."""
    try:
        raw = _read_held(_body_stream(req), max_size, hold)
    except TimeoutError as e:  # the client was too slow (see snekbox/api/worker.py)
        raise falcon.HTTPError(
            falcon.HTTP_408,
            title="Request body too slow",
            description=f"the body was not read: {e}",
            headers={"Connection": "close"},
        ) from e
    except (OSError, ParseException) as e:  # a malformed chunked body, or a client gone
        raise bad_request(f"the body could not be read: {e}") from e
    request_read()  # the client is no longer waited on (snekbox/api/worker.py)
    if len(raw) > max_size:
        raise _too_large(max_size)
    check_shape(raw, shape)
    try:
        # As json.loads would decode bytes, but held first: a str of characters past
        # U+FFFF takes 4 bytes each, and so do the strings parsed out of it.
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
        del raw
        hold.grow(2 * sys.getsizeof(text))
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        description = f"the body is not valid JSON: {e}"
        raise falcon.HTTPBadRequest(
            title="Invalid JSON", description=description[:MAX_ERROR_LENGTH]
        ) from None


def _body_stream(req: falcon.Request) -> typing.Any:  # falcon's stream types vary
    # Without a Content-Length (chunked), falcon's bounded stream would read nothing.
    return req.bounded_stream if req.content_length is not None else req.stream


def _read_held(stream: typing.BinaryIO, max_size: int, hold: Hold) -> bytes:
    """The body, held as it arrives; one byte more than `max_size` (not held) if it is
    larger, so that it is refused as too large rather than as over the budget."""
    pieces, size = [], 0
    while size <= max_size and (piece := stream.read(min(1 << 16, max_size + 1 - size))):
        hold.grow(min(len(piece), max_size - size))
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces)


def discard(req: falcon.Request) -> None:
    """Read the body to its end without keeping it: a client still sending gets the answer
    then, not a connection reset. A client too slow for its deadline is given up on."""
    stream = _body_stream(req)
    try:
        while stream.read(1 << 16):
            pass
    except OSError:
        pass
    request_read()


def check_shape(raw: bytes, shape: Shape) -> None:
    """413 for a body with more JSON values than a valid one can hold, before parsing it.

    Without this a body of tiny values (["ab","ab",...], [[],[],...]) would parse into
    objects fifteen times its own size. A few passes over the bytes: escaped backslashes
    and quotes are dropped (so every quote left opens or closes a string), the quotes are
    counted, and the strings are cut out to count what separates the other values.
    """
    text = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    strings = text.count(b'"') // 2
    if strings > shape.strings:
        raise _too_complex(f"{strings} strings", shape.strings)
    structure = _STRING.sub(b"", text)
    separators = structure.count(b",") + structure.count(b"[") + structure.count(b"{")
    if separators > shape.separators:
        raise _too_complex(f"{separators} commas and brackets outside strings", shape.separators)


def _too_complex(found: str, most: int) -> falcon.HTTPContentTooLarge:
    return falcon.HTTPContentTooLarge(
        title="Request body too complex",
        description=f"the body holds {found}, more than a valid request can ({most}): "
        "too many JSON values",
    )


def _refuse_constant(name: str) -> None:
    """Python's json takes NaN and Infinity, which are not JSON, and NaN would slip past
    every numeric bound of the schema (each comparison with it is false)."""
    raise ValueError(f"{name} is not a JSON number")


def _too_large(max_size: int) -> falcon.HTTPContentTooLarge:
    return falcon.HTTPContentTooLarge(
        title="Request body too large",
        description=f"the body may hold at most {max_size} bytes (SNEKBOX_MAX_BODY_SIZE)",
    )


def bad_request(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(
        title="Invalid request", description=description[:MAX_ERROR_LENGTH]
    )
