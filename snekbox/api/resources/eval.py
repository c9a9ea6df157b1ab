"""POST /eval: run Python in a fresh jail and answer with its output and verdict, as one
JSON document or, for `Accept: text/event-stream`, as events while it runs."""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Callable, Iterator

import falcon

from snekbox.api import body, metrics, sse
from snekbox.api.answer import Answer
from snekbox.api.middleware import record_job
from snekbox.api.resources.admission import Admission
from snekbox.api.stream import Put
from snekbox.jail import RunSpec, Watch


class EvalResource:
    """Reads the body, runs its spec in a job slot, and streams the answer."""

    def __init__(self, admission: Admission):
        self.admission = admission
        self.jobs = admission.jobs
        self.grace = admission.settings.request_timeout

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        # What the request holds (its body's bytes, then a job slot) until it is answered.
        with contextlib.ExitStack() as held:
            spec = self.admission.read(req, held, self.jobs.requests.parse, spec_size)
            held.enter_context(self.jobs.slot())
            if sse.wanted(req):
                watch = Watch()
                work = self._streamed(spec, watch, req.context.request_id)
                self.admission.stream(req, resp, held, work, watch.started, watch.cancel)
                return
            with metrics.IN_FLIGHT.track_inprogress():
                req.context.result = self.jobs.run_in_slot(spec)
            answer = Answer(req.context.result, self.grace)
            answer.on_close(held.pop_all().close)  # from here on the answer holds them
        resp.content_type = falcon.MEDIA_JSON
        resp.content_length = answer.size
        resp.stream = answer

    def _streamed(self, spec: RunSpec, watch: Watch, request_id: str) -> Callable[[Put], None]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def output(chunk: bytes, final: bool = False) -> Iterator[bytes]:
            """An `output` event of a chunk, UTF-8 decoded across chunks. Made as it is sent,
            so that a queue of them holds the output's bytes, not their JSON (up to 6 times
            as large)."""
            if text := decoder.decode(chunk, final):
                yield sse.event("output", {"text": text})

        def work(put: Put) -> None:
            """`output` events as the job writes, then `result`."""
            watch.sink = lambda chunk: put(output(chunk), len(chunk))
            with metrics.IN_FLIGHT.track_inprogress():
                result = self.jobs.run_in_slot(spec, watch)
            put(output(b"", final=True), 0)
            record_job(request_id, result)
            answer = Answer(result, self.grace)
            put(sse.framed("result", answer), answer.size)

        return work


def spec_size(spec: RunSpec) -> int:
    """The bytes of a spec: its files, stdin and arguments."""
    return sum(len(f.content) for f in spec.files) + len(spec.stdin) + sum(map(len, spec.args))


def body_shape(schema: dict) -> body.Shape:
    """Generous bounds for the largest valid request: each file is an object of two keys
    and two strings, each argument a string, and every other field a key and a value."""
    files = schema["properties"]["files"]["maxItems"]
    args = schema["properties"]["args"]["maxItems"]
    return body.Shape(strings=4 * files + args + 100, separators=4 * files + 2 * args + 100)
