"""The request boundary: a client's parsed JSON turned into a typed RunSpec, in one pass.

Everything a client can send is checked here and nowhere else; the jobs and jail layers
receive only valid specs. The JSON schema that validates a request is built here too, and
/openapi.json publishes the same one, so documentation and validation cannot drift. A new
request field is added to `schema` and read in `RequestParser.parse`. POST /judge takes
the same fields plus its cases (`judge_schema`, `RequestParser.parse_judge`).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import jsonschema

from snekbox.filesystem import InputFile, InputFileError
from snekbox.jail import RunSpec, Runtime
from snekbox.jobs.judge import Case, Compare, JudgeSpec
from snekbox.limits import JobLimits
from snekbox.settings import Settings

MAX_ERROR_LENGTH = 500
# Linux refuses to exec a single argument of 128 KiB or more (MAX_ARG_STRLEN, with its NUL).
MAX_ARG_BYTES = 131071
MAX_ARGS_BYTES = 1_000_000
MIN_MEMORY = 8 * 1024 * 1024


class RequestError(ValueError):
    """The request cannot be run as given; the message tells the client why (a 400)."""

    title = "Invalid request"

    def __init__(self, description: str):
        super().__init__(description[:MAX_ERROR_LENGTH])


class RequestTooLarge(RequestError):
    """A part of the request is over the service's limits (a 413)."""

    def __init__(self, title: str, description: str):
        super().__init__(description)
        self.title = title


def schema(settings: Settings) -> dict[str, Any]:
    """The body of POST /eval; maxima come from the service's settings."""
    return {
        "type": "object",
        "description": "Python to run: `input` (code, as with `python -c`) and/or `args`.",
        "additionalProperties": False,
        "properties": {
            "input": {
                "type": "string",
                "description": "Code to run; the same as args "
                '["-c", input]. With `args`, it is appended to them.',
            },
            "args": {
                "type": "array",
                "items": {"type": "string"},
                "maxItems": 256,
                "description": "Arguments for the interpreter, after its own -I.",
            },
            "files": {
                "type": "array",
                "maxItems": 1000,
                "description": "Files written into /home before the run.",
                "items": {
                    "type": "object",
                    "required": ["path"],
                    "additionalProperties": False,
                    "properties": {
                        "path": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 1024,
                            "description": "Relative to /home; directories are created.",
                        },
                        "content": {
                            "type": "string",
                            "contentEncoding": "base64",
                            "default": "",
                            "description": "The file's bytes, base64.",
                        },
                    },
                },
            },
            "stdin": {
                "type": "string",
                "default": "",
                "description": f"Fed to standard input; at most {settings.max_stdin} "
                "bytes as UTF-8.",
            },
            "limits": {
                "type": "object",
                "additionalProperties": False,
                "description": "Tighter or looser limits for this job, up to the maxima.",
                "properties": {
                    "time": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "maximum": settings.max_time_limit,
                        "default": settings.time_limit,
                        "description": "Wall-clock seconds.",
                    },
                    "memory": {
                        "type": "integer",
                        "minimum": MIN_MEMORY,
                        "maximum": settings.max_memory_limit,
                        "default": settings.memory_limit,
                        "description": "Bytes.",
                    },
                    "output": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": settings.max_output_limit,
                        "default": settings.output_limit,
                        "description": "Bytes of merged stdout and stderr.",
                    },
                    "processes": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": settings.max_process_limit,
                        "default": settings.process_limit,
                        "description": "Processes and threads at once, the first included.",
                    },
                },
            },
            "executable_path": {
                "type": "string",
                "description": "An interpreter's path in the jail, as listed by GET /runtimes.",
            },
            "version": {"type": "string", "description": "A runtime name from GET /runtimes."},
            "figures": {
                "type": "boolean",
                "default": False,
                "description": "Return the matplotlib figures still open when the job ends "
                "as files figure-N.png (N the figure's number), without savefig. They count "
                "against the job's limits; a file of that name the job wrote wins.",
            },
        },
        "anyOf": [{"required": ["input"]}, {"required": ["args"]}],
    }


def judge_schema(settings: Settings) -> dict[str, Any]:
    """The body of POST /judge: what /eval takes, plus the cases and how to compare."""
    run = schema(settings)
    case = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": 200, "description": "Shown in its result."},
            "stdin": {**run["properties"]["stdin"], "description": "Instead of the request's."},
            "args": {
                **run["properties"]["args"],
                "description": "Arguments for the program (sys.argv[1:]), after the request's.",
            },
            "expected_stdout": {
                "type": "string",
                "description": "The output (stdout and stderr) that passes; absent: any "
                "output of a successful run passes.",
            },
            "limits": {**run["properties"]["limits"], "description": "Over the request's."},
        },
    }
    return {
        **run,
        "description": "A program (as for /eval) run on each case in a fresh jail.",
        "properties": {
            **run["properties"],
            "cases": {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.max_cases,
                "items": case,
            },
            "compare": {
                "enum": [mode.value for mode in Compare],
                "default": Compare.TRAILING_WHITESPACE.value,
                "description": "exact; trailing_whitespace ignores trailing spaces on each "
                "line and trailing blank lines; tokens compares whitespace-separated words.",
            },
        },
        "required": ["cases"],
    }


class RequestParser:
    """Turns request documents into run specs for one service's settings and runtimes."""

    def __init__(self, settings: Settings, runtimes: dict[str, Runtime]):
        self.settings = settings
        self.runtimes = runtimes
        self.schema = schema(settings)
        self.validator = jsonschema.Draft202012Validator(self.schema)
        self.judge_schema = judge_schema(settings)
        self.judge_validator = jsonschema.Draft202012Validator(self.judge_schema)
        self.jobs_at_once = settings.jobs_at_once

    def parse(self, document: object) -> RunSpec:
        """The spec of a request document (parsed JSON); RequestError says what is wrong."""
        self._validate(document, self.schema, self.validator)
        assert isinstance(document, dict)  # the schema says so
        return self._spec(document)

    def parse_judge(self, document: object) -> JudgeSpec:
        """The spec of a POST /judge document: a run spec for each case."""
        self._validate(document, self.judge_schema, self.judge_validator)
        assert isinstance(document, dict)  # the schema says so
        program, limits = self._spec(document), document.get("limits", {})
        judged = tuple(self._case(program, limits, case) for case in document["cases"])
        _check_output(judged, min(len(judged), self.jobs_at_once) * self.settings.max_output_limit)
        return JudgeSpec(judged, Compare(document.get("compare", Compare.TRAILING_WHITESPACE)))

    def _spec(self, document: dict[str, Any]) -> RunSpec:
        return RunSpec(
            runtime=self._runtime(document.get("executable_path"), document.get("version")),
            args=self._args(document),
            limits=self._limits(document.get("limits", {})),
            files=self._files(document.get("files", [])),
            stdin=self._stdin(document.get("stdin", "")),
            figures=document.get("figures", False),
        )

    def _case(self, program: RunSpec, limits: dict[str, float], case: dict[str, Any]) -> Case:
        """A case's run: the program's, with the case's arguments, stdin and limits."""
        return Case(
            spec=RunSpec(
                runtime=program.runtime,
                args=self._checked_args([*program.args, *case.get("args", [])]),
                limits=self._limits({**limits, **case.get("limits", {})}),
                files=program.files,
                stdin=self._stdin(case["stdin"]) if "stdin" in case else program.stdin,
            ),
            name=_text(case.get("name"), "cases: a name"),
            expected=_text(case.get("expected_stdout"), "cases: an expected_stdout"),
        )

    def _validate(self, document: object, schema: dict[str, Any], validator: Any) -> None:
        if isinstance(document, dict):
            if unknown := sorted(set(document) - set(schema["properties"])):
                raise RequestError(
                    f"unknown fields: {', '.join(map(repr, unknown))}; the "
                    f"fields are {', '.join(schema['properties'])}"
                )
            if "input" not in document and "args" not in document:
                raise RequestError("nothing to run: give 'input' or 'args'")
            # Before the full validation, which would check each of a million items first.
            for name, field in schema["properties"].items():
                value, most = document.get(name), field.get("maxItems")
                if isinstance(value, list) and most is not None and len(value) > most:
                    raise RequestError(f"{name}: {len(value)} items; at most {most} are allowed")
        error = jsonschema.exceptions.best_match(validator.iter_errors(document))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the body"
            raise RequestError(f"{where}: {error.message}")

    def _runtime(self, executable_path: str | None, version: str | None) -> Runtime:
        """The runtime a request names by path or by version, or the default one."""
        if executable_path is not None and version is not None:
            raise RequestError("give either 'executable_path' or 'version', not both")
        if version is not None:
            if version not in self.runtimes:
                raise RequestError(
                    f"unknown version {version!r}; available: "
                    f"{', '.join(sorted(self.runtimes))} (see GET /runtimes)"
                )
            return self.runtimes[version]
        if executable_path is None:
            return self.runtimes["default"]
        for runtime in self.runtimes.values():
            if runtime.executable_path == executable_path:
                return runtime
        paths = ", ".join(sorted(r.executable_path for r in self.runtimes.values()))
        raise RequestError(f"unknown executable_path {executable_path!r}; available: {paths}")

    @classmethod
    def _args(cls, document: dict[str, Any]) -> tuple[str, ...]:
        """`args`, then `-c input`."""
        args = list(document.get("args", ["-c"] if "input" in document else []))
        if "input" in document:
            args.append(document["input"])
        return cls._checked_args(args)

    @staticmethod
    def _checked_args(args: list[str]) -> tuple[str, ...]:
        """Arguments exec(2) can take, or a reason why not."""
        if not args:
            raise RequestError("nothing to run: 'args' is empty")
        total = 0
        for arg in args:
            if "\0" in arg:
                raise RequestError("arguments cannot contain NUL characters")
            try:
                size = len(arg.encode("utf-8"))
            except UnicodeEncodeError:
                raise RequestError("arguments must be valid Unicode (no lone surrogates)") from None
            if size > MAX_ARG_BYTES:
                raise RequestError(
                    f"an argument (or 'input') holds {size} bytes; at most "
                    f"{MAX_ARG_BYTES} are possible: put larger code in 'files'"
                )
            total += size
        if total > MAX_ARGS_BYTES:
            raise RequestError(f"arguments hold {total} bytes, over {MAX_ARGS_BYTES}")
        return tuple(args)

    def _limits(self, requested: dict[str, float]) -> JobLimits:
        """The request's limits (the schema bounds them), the service's defaults for others."""
        for name, value in requested.items():
            if not math.isfinite(value):  # NaN passes every bound of the schema
                raise RequestError(f"limits/{name}: {value} is not a number")
        s = self.settings
        return JobLimits(
            time=float(requested.get("time", s.time_limit)),
            memory=int(requested.get("memory", s.memory_limit)),
            output=int(requested.get("output", s.output_limit)),
            processes=int(requested.get("processes", s.process_limit)),
        )

    def _files(self, files: list[dict[str, str]]) -> tuple[InputFile, ...]:
        paths = [f["path"] for f in files]
        if len(set(paths)) != len(paths):
            raise RequestError("files: each path may be given only once")
        try:
            inputs = tuple(
                InputFile(f["path"], _decode(f["path"], f.get("content", ""))) for f in files
            )
        except InputFileError as e:
            raise RequestError(str(e)) from None
        total = sum(len(f.content) for f in inputs)
        if total > self.settings.tmpfs_size:
            raise RequestError(
                f"input files hold {total} bytes; /home holds at most {self.settings.tmpfs_size}"
            )
        return inputs

    def _stdin(self, stdin: str) -> bytes:
        data = stdin.encode("utf-8", "surrogatepass")
        if len(data) > self.settings.max_stdin:
            raise RequestTooLarge(
                "stdin too large", f"stdin may hold at most {self.settings.max_stdin} bytes"
            )
        return data


def _check_output(cases: tuple[Case, ...], most: int) -> None:
    """A judge holds every case's output until it is answered: in all, no more than the
    answers its job slots could hold (`most`: max_output_limit each)."""
    total = sum(case.spec.limits.output for case in cases)
    if total > most:
        raise RequestTooLarge(
            "Too much output",
            f"the cases may print {total} bytes in all; {len(cases)} cases may print at "
            f"most {most}: lower limits.output",
        )


def _text(text: str | None, what: str) -> str | None:
    """`text`, which answers may show: valid Unicode (JSON lets a lone surrogate through)."""
    try:
        if text is not None:
            text.encode()
    except UnicodeEncodeError:
        raise RequestError(f"{what} must be valid Unicode (no lone surrogates)") from None
    return text


def _decode(path: str, content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"files: the content of {path[:100]!r} is not valid base64") from None
