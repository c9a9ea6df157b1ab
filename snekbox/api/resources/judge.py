"""POST /judge: one program run on many test cases, each in a fresh jail, with a verdict
on each; as one JSON document or, for `Accept: text/event-stream`, a `case` event as each
case is judged and then a `summary` event."""

from __future__ import annotations

import contextlib
import json
import threading

import falcon

from snekbox.api import body, metrics, sse
from snekbox.api.middleware import record_job
from snekbox.api.resources.admission import Admission
from snekbox.api.resources.eval import body_shape, spec_size
from snekbox.api.stream import Put
from snekbox.jail import RunSpec, Watch
from snekbox.jobs.judge import Judged, JudgeSpec, Verdict, run_cases
from snekbox.result import EvalResult


class JudgeResource:
    """Reads the body, takes a slot for each case that can run at once (all or none: 503
    rather than a part), and runs every case."""

    def __init__(self, admission: Admission):
        self.admission = admission
        self.jobs = admission.jobs

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The cases run on a thread of their own in either mode (see EventStream), so that
        a client that goes away stops them, streamed or not."""
        with contextlib.ExitStack() as held:
            spec = self.admission.read(req, held, self.jobs.requests.parse_judge, judge_size)
            at_once = min(len(spec.cases), self.jobs.slots.size)
            held.enter_context(self.jobs.slot(at_once))
            started, cancel = threading.Event(), threading.Event()
            events = sse.wanted(req)

            def work(put: Put) -> None:
                def send(data: bytes) -> None:
                    put([data], len(data))

                def each(case: Judged) -> None:
                    self._count(req.context.request_id, case)
                    if events:
                        send(sse.event("case", case.to_json()))

                cases, seconds = run_cases(self._run, spec, at_once, started, cancel, each)
                totals = summary(cases, seconds)
                if events:
                    send(sse.event("summary", totals))
                else:
                    answer = {"cases": [case.to_json() for case in cases], "summary": totals}
                    send(json.dumps(answer).encode())

            media_type = sse.MEDIA_TYPE if events else falcon.MEDIA_JSON
            self.admission.stream(req, resp, held, work, started, cancel, media_type)

    def _run(self, spec: RunSpec, watch: Watch) -> EvalResult:
        with metrics.IN_FLIGHT.track_inprogress():
            return self.jobs.run_in_slot(spec, watch)

    @staticmethod
    def _count(request_id: str, case: Judged) -> None:
        """Count and log a case as a job, and its verdict."""
        record_job(request_id, case.result, case=case.index, verdict=case.verdict.value)
        metrics.JUDGED.labels(verdict=case.verdict.value).inc()


def summary(cases: list[Judged], seconds: float) -> dict:
    passed = sum(case.verdict is Verdict.ACCEPTED for case in cases)
    return {"passed": passed, "total": len(cases), "duration": round(seconds, 4)}


def judge_size(spec: JudgeSpec) -> int:
    """The bytes a judge request's cases need: the files (shared by all), each case's
    stdin, arguments and expected output."""
    files = sum(len(f.content) for f in spec.cases[0].spec.files)
    return files + sum(
        spec_size(case.spec) - files + len(case.expected or "") for case in spec.cases
    )


def judge_shape(schema: dict) -> body.Shape:
    """As body_shape, with each case's fields and arguments."""
    eval_shape = body_shape(schema)
    cases = schema["properties"]["cases"]["maxItems"]
    args = schema["properties"]["cases"]["items"]["properties"]["args"]["maxItems"]
    return body.Shape(
        strings=eval_shape.strings + cases * (16 + args),
        separators=eval_shape.separators + cases * (16 + 2 * args),
    )
