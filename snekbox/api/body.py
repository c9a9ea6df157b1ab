"""Reading a JSON request body safely: size, content type, syntax and schema."""

from __future__ import annotations

import json

import falcon
import jsonschema

MAX_ERROR_LENGTH = 500


def read_json(req: falcon.Request, max_size: int) -> object:
    """The parsed body; 415, 413 or 400 (with a reason) when it cannot be had."""
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise falcon.HTTPUnsupportedMediaType(
            title="Unsupported media type",
            description=f"send the body as JSON with 'Content-Type: application/json', "
                        f"not {content_type or 'no content type'!r}")
    if req.content_length is not None and req.content_length > max_size:
        raise _too_large(max_size)
    raw = req.bounded_stream.read(max_size + 1)
    if len(raw) > max_size:
        raise _too_large(max_size)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        description = f"the body is not valid JSON: {e}"
        raise falcon.HTTPBadRequest(title="Invalid JSON",
                                    description=description[:MAX_ERROR_LENGTH])


def _too_large(max_size: int) -> falcon.HTTPContentTooLarge:
    return falcon.HTTPContentTooLarge(
        title="Request body too large",
        description=f"the body may hold at most {max_size} bytes (SNEKBOX_MAX_BODY_SIZE)")


def validate(validator: jsonschema.protocols.Validator, document: object) -> None:
    """400 naming where the document breaks its schema and how."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return
    where = "/".join(str(p) for p in error.absolute_path) or "the body"
    raise falcon.HTTPBadRequest(title="Invalid request",
                                description=f"{where}: {error.message}"[:MAX_ERROR_LENGTH])


def bad_request(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title="Invalid request",
                                 description=description[:MAX_ERROR_LENGTH])
