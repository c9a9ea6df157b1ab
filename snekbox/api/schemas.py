"""JSON schemas of the API's answers, published in /openapi.json with the request's
(snekbox/jobs/request.py)."""

from __future__ import annotations

from typing import Any

from snekbox.jobs.judge import Verdict
from snekbox.result import Status

ERROR = {
    "type": "object",
    "required": ["title", "description"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}

STATUSES = [status.value for status in Status]


EVAL_RESPONSE: dict[str, Any] = {
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

EVENTS = {
    "type": "string",
    "description": "Server-sent events, each `event: NAME`, `data: ` and one line of JSON, "
    "and an empty line.",
}

CASE_RESULT = {
    "type": "object",
    "description": "A case's result as /eval answers it, without the files, and its verdict.",
    "required": [
        "index",
        "name",
        "verdict",
        "difference",
        *(name for name in EVAL_RESPONSE["required"] if name != "files"),
    ],
    "properties": {
        "index": {"type": "integer", "description": "The case's place in the request."},
        "name": {"type": ["string", "null"]},
        "verdict": {"enum": [verdict.value for verdict in Verdict]},
        "difference": {
            "type": ["object", "null"],
            "description": "For wrong_answer: the first line (1-based) that differs, as "
            "expected and as printed (null: no such line), each cut at 200 characters.",
            "properties": {
                "line": {"type": "integer"},
                "expected": {"type": ["string", "null"]},
                "actual": {"type": ["string", "null"]},
            },
        },
        **{k: v for k, v in EVAL_RESPONSE["properties"].items() if k != "files"},
    },
}

JUDGE_SUMMARY = {
    "type": "object",
    "required": ["passed", "total", "duration"],
    "properties": {
        "passed": {"type": "integer", "description": "Cases accepted."},
        "total": {"type": "integer"},
        "duration": {"type": "number", "description": "Wall-clock seconds of the judging."},
    },
}

JUDGE_RESPONSE = {
    "type": "object",
    "required": ["cases", "summary"],
    "properties": {
        "cases": {"type": "array", "items": CASE_RESULT, "description": "In request order."},
        "summary": JUDGE_SUMMARY,
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
