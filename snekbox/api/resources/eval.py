"""POST /eval: run Python in a fresh jail and answer with its output and verdict."""

from __future__ import annotations

import base64
import binascii
import contextlib

import falcon
import jsonschema

from snekbox.api import body, metrics, schemas
from snekbox.api.answer import Answer
from snekbox.api.budget import BodyBudget, BudgetExhausted, Hold, Unaffordable
from snekbox.jobs import EvalRequest, JobError, Jobs, Overloaded
from snekbox.settings import Settings

RETRY_AFTER_SECONDS = 1


class EvalResource:
    """Validates the body, hands the job over, and turns every bad input into a 4xx."""

    def __init__(self, jobs: Jobs, settings: Settings):
        self.jobs = jobs
        self.settings = settings
        schema = schemas.eval_request(settings)
        self.validator = jsonschema.Draft202012Validator(schema)
        self.shape = body_shape(schema)
        self.bodies = BodyBudget(settings.worker_body_budget)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body.check_headers(req, self.settings.max_body_size)
        held = contextlib.ExitStack()  # the body's bytes, then a job slot, until answered
        try:
            hold = held.enter_context(self.bodies.hold())
            request = self.read_request(req, hold)
            spec = self.jobs.spec_for(request)  # a bad request is a 400 even when busy
            held.enter_context(self.jobs.slot())
            with metrics.IN_FLIGHT.track_inprogress():
                result = self.jobs.run_in_slot(spec)
            req.context.result = result
            answer = Answer(result, held.close, self.settings.request_timeout)
        except JobError as e:
            held.close()
            raise body.bad_request(str(e))
        except Unaffordable as e:
            held.close()
            body.discard(req)  # so that the client, still sending, gets the answer
            raise falcon.HTTPContentTooLarge(title="Request too large in memory",
                                             description=str(e))
        except BudgetExhausted as e:
            held.close()
            body.discard(req)
            raise _unavailable("Too many large requests", e)
        except Overloaded as e:
            held.close()
            raise _unavailable("Too many jobs", e)
        except BaseException:
            held.close()
            raise
        resp.content_type = falcon.MEDIA_JSON
        resp.content_length = answer.size
        resp.stream = answer

    def read_request(self, req: falcon.Request, hold: Hold) -> EvalRequest:
        """The body read, checked and made a job request; from then on it holds only the
        request's own bytes (its parsed JSON is gone)."""
        document = body.read_json(req, self.settings.max_body_size, self.shape, hold)
        body.validate(self.validator, document)
        request = self.to_request(document)
        hold.settle(sum(map(len, request.files.values())) + len(request.stdin)
                    + sum(map(len, request.args)))
        return request

    def to_request(self, document: dict) -> EvalRequest:
        """The validated body as a job request: code, decoded files, stdin and limits."""
        args = list(document.get("args", ["-c"] if "input" in document else []))
        if "input" in document:
            args.append(document["input"])
        paths = [f["path"] for f in document.get("files", [])]
        if len(set(paths)) != len(paths):
            raise body.bad_request("files: each path may be given only once")
        stdin = document.get("stdin", "").encode("utf-8", "surrogatepass")
        if len(stdin) > self.settings.max_stdin:
            raise falcon.HTTPContentTooLarge(
                title="stdin too large",
                description=f"stdin may hold at most {self.settings.max_stdin} bytes")
        return EvalRequest(
            args=tuple(args),
            files={f["path"]: _decode(f["path"], f.get("content", ""))
                   for f in document.get("files", [])},
            stdin=stdin,
            limits=document.get("limits", {}),
            executable_path=document.get("executable_path"),
            version=document.get("version"),
        )


def _unavailable(title: str, reason: Exception) -> falcon.HTTPServiceUnavailable:
    return falcon.HTTPServiceUnavailable(title=title, description=f"try again shortly: {reason}",
                                         retry_after=RETRY_AFTER_SECONDS)


def body_shape(schema: dict) -> body.Shape:
    """Generous bounds for the largest valid request: each file is an object of two keys
    and two strings, each argument a string, and every other field a key and a value."""
    files = schema["properties"]["files"]["maxItems"]
    args = schema["properties"]["args"]["maxItems"]
    return body.Shape(strings=4 * files + args + 100, separators=4 * files + 2 * args + 100)


def _decode(path: str, content: str) -> bytes:
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise body.bad_request(f"files: the content of {path[:100]!r} is not valid base64")
