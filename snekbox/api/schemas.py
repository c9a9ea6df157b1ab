"""JSON schemas of the API's answers, published in /openapi.json with the request's
(snekbox/jobs/request.py)."""

from __future__ import annotations

from snekbox.result import Status

ERROR = {
    "type": "object",
    "required": ["title", "description"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}

STATUSES = [status.value for status in Status]


EVAL_RESPONSE = {
    "type": "object",
    "required": ["stdout", "returncode", "files", "status", "signal", "duration", "truncated"],
    "properties": {
        "stdout": {"type": "string", "description": "stdout and stderr, merged in order."},
        "returncode": {
            "type": ["integer", "null"],
            "description": "Exit code; 128+N for signal N; 255 when nsjail "
            "failed; null when the job could not run at all.",
        },
        "status": {"enum": STATUSES},
        "signal": {"type": ["string", "null"], "description": "e.g. SIGKILL."},
        "duration": {"type": "number", "description": "Wall-clock seconds of the job."},
        "truncated": {"type": "boolean", "description": "Output was cut at the limit."},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "size", "content"],
                "properties": {
                    "path": {"type": "string"},
                    "size": {"type": "integer"},
                    "content": {"type": "string", "contentEncoding": "base64"},
                },
            },
        },
    },
}

RUNTIMES_RESPONSE = {
    "type": "object",
    "required": ["runtimes"],
    "properties": {
        "runtimes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "version", "executable_path", "default"],
                "properties": {
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                    "executable_path": {"type": "string"},
                    "default": {"type": "boolean"},
                },
            },
        },
    },
}

HEALTH_RESPONSE = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": ["ok", "unavailable"]},
        "checked_at": {"type": "number"},
        "detail": {"type": "string"},
    },
}
