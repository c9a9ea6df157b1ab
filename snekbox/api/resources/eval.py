"""POST /eval: run Python in a fresh jail and answer with its output and verdict."""

from __future__ import annotations

import contextlib

import falcon

from snekbox.api import body, metrics
from snekbox.api.answer import Answer
from snekbox.api.budget import BodyBudget
from snekbox.jobs import Jobs
from snekbox.settings import Settings


class EvalResource:
    """Reads the body, runs its spec in a job slot, and streams the answer. Bad input and a
    busy service become 4xx and 503 answers through the app's error handlers."""

    def __init__(self, jobs: Jobs, settings: Settings):
        self.jobs = jobs
        self.settings = settings
        self.shape = body_shape(jobs.requests.schema)
        self.bodies = BodyBudget(settings.worker_body_budget)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body.check_headers(req, self.settings.max_body_size)
        # What the request holds (its body's bytes, then a job slot) until it is answered.
        with contextlib.ExitStack() as held:
            hold = held.enter_context(self.bodies.hold())
            document = body.read_json(req, self.settings.max_body_size, self.shape, hold)
            spec = self.jobs.requests.parse(document)  # a 400 even when every slot is busy
            del document  # from here on the request holds only its spec's bytes
            hold.settle(
                sum(len(f.content) for f in spec.files) + len(spec.stdin) + sum(map(len, spec.args))
            )
            held.enter_context(self.jobs.slot())
            with metrics.IN_FLIGHT.track_inprogress():
                req.context.result = self.jobs.run_in_slot(spec)
            answer = Answer(req.context.result, self.settings.request_timeout)
            answer.on_close(held.pop_all().close)  # from here on the answer holds them
        resp.content_type = falcon.MEDIA_JSON
        resp.content_length = answer.size
        resp.stream = answer


def body_shape(schema: dict) -> body.Shape:
    """Generous bounds for the largest valid request: each file is an object of two keys
    and two strings, each argument a string, and every other field a key and a value."""
    files = schema["properties"]["files"]["maxItems"]
    args = schema["properties"]["args"]["maxItems"]
    return body.Shape(strings=4 * files + args + 100, separators=4 * files + 2 * args + 100)
