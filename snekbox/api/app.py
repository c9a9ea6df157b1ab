"""The falcon application: routes, error format, and nothing that knows of nsjail."""

from __future__ import annotations

from typing import Any

import falcon

from snekbox.api import body
from snekbox.api.budget import BodyBudget, BudgetExhausted, Unaffordable
from snekbox.api.metrics import MetricsResource
from snekbox.api.middleware import OPEN_PATHS, BearerAuth, JobLog, RequestId
from snekbox.api.openapi import OpenAPIResource
from snekbox.api.resources import playground
from snekbox.api.resources.admission import Admission
from snekbox.api.resources.eval import EvalResource, body_shape
from snekbox.api.resources.health import HealthResource
from snekbox.api.resources.judge import JudgeResource, judge_shape
from snekbox.api.resources.runtimes import RuntimesResource
from snekbox.jobs import JobError, Jobs, Overloaded, RequestError, RequestTooLarge
from snekbox.settings import Settings

RETRY_AFTER_SECONDS = 1


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Every error as JSON with both a title and a description."""
    description = error.description
    if description is None and isinstance(error, falcon.HTTPMethodNotAllowed):
        description = f"{req.method} is not allowed here; use {dict(error.headers or {})['Allow']}"
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {"title": error.title, "description": description or error.title}


def refuse_bad_request(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict
) -> None:
    if isinstance(error, RequestTooLarge):
        raise falcon.HTTPContentTooLarge(title=error.title, description=str(error))
    title = error.title if isinstance(error, RequestError) else "Invalid request"
    raise falcon.HTTPBadRequest(title=title, description=str(error))


def refuse_when_busy(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict
) -> None:
    """503 with Retry-After: no job slot, or no room for the body, is free just now. A
    body that could never fit is a 413. The rest of a body still arriving is read first,
    so that its client gets this answer rather than a reset connection."""
    if isinstance(error, BudgetExhausted):
        body.discard(req)
    if isinstance(error, Unaffordable):
        raise falcon.HTTPContentTooLarge(
            title="Request too large in memory", description=str(error)
        )
    title = "Too many jobs" if isinstance(error, Overloaded) else "Too many large requests"
    raise falcon.HTTPServiceUnavailable(
        title=title, description=f"try again shortly: {error}", retry_after=RETRY_AFTER_SECONDS
    )


def load_tokens(settings: Settings) -> list[str]:
    """Bearer tokens from SNEKBOX_API_TOKENS and the file SNEKBOX_API_TOKENS_FILE."""
    tokens = [t.strip() for t in settings.api_tokens.split(",")]
    if settings.api_tokens_file:
        with open(settings.api_tokens_file) as f:
            tokens += [line.strip() for line in f]
    return [t for t in tokens if t and not t.startswith("#")]


def create_app(jobs: Jobs, settings: Settings) -> falcon.App:
    tokens = load_tokens(settings)
    open_paths = OPEN_PATHS | (playground.PATHS if settings.playground else set())
    auth = [BearerAuth(tokens, open_paths)] if tokens else []
    middleware: list[Any] = [RequestId(), JobLog(), *auth]
    app = falcon.App(middleware=middleware)
    app.set_error_serializer(serialize_error)
    app.add_error_handler(RequestError, refuse_bad_request)
    app.add_error_handler(JobError, refuse_bad_request)
    app.add_error_handler(Overloaded, refuse_when_busy)
    app.add_error_handler(BudgetExhausted, refuse_when_busy)
    app.req_options.strip_url_path_trailing_slash = True
    bodies = BodyBudget(settings.worker_body_budget)  # one budget for the worker's requests
    app.add_route(
        "/eval", EvalResource(Admission(jobs, settings, bodies, body_shape(jobs.requests.schema)))
    )
    judge_admission = Admission(jobs, settings, bodies, judge_shape(jobs.requests.judge_schema))
    app.add_route("/judge", JudgeResource(judge_admission))
    app.add_route("/runtimes", RuntimesResource(jobs))
    app.add_route("/health", HealthResource(jobs))
    app.add_route("/openapi.json", OpenAPIResource(settings, authenticated=bool(tokens)))
    app.add_route("/metrics", MetricsResource())
    if settings.playground:
        app.add_route("/", playground.RootResource())
        page = playground.PlaygroundResource()
        app.add_route("/playground", page)
        app.add_route("/playground/{name}", page, suffix="asset")
    return app
