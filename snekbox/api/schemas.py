"""JSON schemas of the API: they validate requests and are published in /openapi.json."""

from __future__ import annotations

from snekbox.settings import Settings

ERROR = {
    "type": "object",
    "required": ["title", "description"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
}

STATUSES = ["ok", "error", "timeout", "oom", "output_limit", "signal", "internal_error"]


def eval_request(settings: Settings) -> dict:
    """The body of POST /eval; maxima come from the service's settings."""
    return {
        "type": "object",
        "description": "Python to run: `input` (code, as with `python -c`) and/or `args`.",
        "properties": {
            "input": {"type": "string", "description": "Code to run; the same as args "
                      "[\"-c\", input]. With `args`, it is appended to them."},
            "args": {"type": "array", "items": {"type": "string"}, "maxItems": 256,
                     "description": "Arguments for the interpreter, after its own -I."},
            "files": {
                "type": "array",
                "maxItems": 1000,
                "description": "Files written into /home before the run.",
                "items": {
                    "type": "object",
                    "required": ["path"],
                    "additionalProperties": False,
                    "properties": {
                        "path": {"type": "string", "minLength": 1, "maxLength": 1024,
                                 "description": "Relative to /home; directories are created."},
                        "content": {"type": "string", "contentEncoding": "base64",
                                    "default": "", "description": "The file's bytes, base64."},
                    },
                },
            },
            "stdin": {"type": "string", "default": "",
                      "description": f"Fed to standard input; at most {settings.max_stdin} "
                                     "bytes as UTF-8."},
            "limits": {
                "type": "object",
                "additionalProperties": False,
                "description": "Tighter or looser limits for this job, up to the maxima.",
                "properties": {
                    "time": {"type": "number", "exclusiveMinimum": 0,
                             "maximum": settings.max_time_limit, "default": settings.time_limit,
                             "description": "Wall-clock seconds."},
                    "memory": {"type": "integer", "minimum": 8 * 1024 * 1024,
                               "maximum": settings.max_memory_limit,
                               "default": settings.memory_limit, "description": "Bytes."},
                    "output": {"type": "integer", "minimum": 1,
                               "maximum": settings.max_output_limit,
                               "default": settings.output_limit,
                               "description": "Bytes of merged stdout and stderr."},
                },
            },
            "executable_path": {"type": "string", "description": "An interpreter's path in "
                                "the jail, as listed by GET /runtimes."},
            "version": {"type": "string", "description": "A runtime name from GET /runtimes."},
        },
        "anyOf": [{"required": ["input"]}, {"required": ["args"]}],
    }


EVAL_RESPONSE = {
    "type": "object",
    "required": ["stdout", "returncode", "files", "status", "signal", "duration", "truncated"],
    "properties": {
        "stdout": {"type": "string", "description": "stdout and stderr, merged in order."},
        "returncode": {"type": ["integer", "null"],
                       "description": "Exit code; 128+N for signal N; 255 when nsjail "
                                      "failed; null when the job could not run at all."},
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
    "properties": {"status": {"enum": ["ok", "unavailable"]},
                   "checked_at": {"type": "number"}, "detail": {"type": "string"}},
}
