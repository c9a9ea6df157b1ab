"""Cross-cutting request handling: request ids, bearer-token authentication, job logs."""

from __future__ import annotations

import hmac
import json
import logging
import re
import uuid

import falcon

from snekbox.api import metrics
from snekbox.result import EvalResult

log = logging.getLogger("snekbox.job-log")  # one JSON line per job (see wsgi.py)
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
OPEN_PATHS = {"/health"}


class RequestId:
    """Take X-Request-ID from the client (if sane) or make one; echo it back."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID") or ""
        req.context.request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        resp.set_header("X-Request-ID", req.context.request_id)


class BearerAuth:
    """With tokens configured, every path but the open ones (/health, the playground's
    page) needs `Authorization: Bearer <token>`."""

    def __init__(self, tokens: list[str], open_paths: set[str]):
        self.tokens = [t.encode() for t in tokens]
        self.open_paths = open_paths

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.path in self.open_paths:
            return
        scheme, _, token = (req.get_header("Authorization") or "").partition(" ")
        given = token.strip().encode("utf-8", "replace")
        # Compare with every token, always, so timing tells nothing about which matched.
        matched = False
        for known in self.tokens:
            matched |= hmac.compare_digest(given, known)
        if scheme.lower() != "bearer" or not matched:
            raise falcon.HTTPUnauthorized(
                title="Unauthorized",
                description="send 'Authorization: Bearer <token>'",
                challenges=["Bearer"],
            )


class JobLog:
    """One JSON log line per job, and the request counters for /metrics."""

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        code = int(resp.status.split()[0]) if isinstance(resp.status, str) else int(resp.status)
        if code >= 400:
            metrics.REJECTED.labels(code=str(code)).inc()
        result = getattr(req.context, "result", None)
        if result is not None:
            record_job(req.context.request_id, result)


def record_job(request_id: str, result: EvalResult, **detail: object) -> None:
    """Count a finished job and log its line; streamed answers call it as each job ends."""
    metrics.JOBS.labels(status=result.status.value).inc()
    metrics.DURATION.observe(result.duration)
    log.info(
        json.dumps(
            {
                "event": "job",
                "request_id": request_id,
                "status": result.status.value,
                "returncode": result.returncode,
                "duration": round(result.duration, 4),
                "truncated": result.truncated,
                "files": len(result.files),
                **detail,
            }
        )
    )
