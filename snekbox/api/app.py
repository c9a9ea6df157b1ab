"""The falcon application: routes, error format, and nothing that knows of nsjail."""

from __future__ import annotations

import falcon

from snekbox.api.metrics import MetricsResource
from snekbox.api.middleware import BearerAuth, JobLog, RequestId
from snekbox.api.openapi import OpenAPIResource
from snekbox.api.resources.eval import EvalResource
from snekbox.api.resources.health import HealthResource
from snekbox.api.resources.runtimes import RuntimesResource
from snekbox.jobs import Jobs
from snekbox.settings import Settings


def serialize_error(req: falcon.Request, resp: falcon.Response, error: falcon.HTTPError) -> None:
    """Every error as JSON with both a title and a description."""
    description = error.description
    if description is None and isinstance(error, falcon.HTTPMethodNotAllowed):
        description = f"{req.method} is not allowed here; use {error.headers['Allow']}"
    resp.content_type = falcon.MEDIA_JSON
    resp.media = {"title": error.title, "description": description or error.title}


def load_tokens(settings: Settings) -> list[str]:
    """Bearer tokens from SNEKBOX_API_TOKENS and the file SNEKBOX_API_TOKENS_FILE."""
    tokens = [t.strip() for t in settings.api_tokens.split(",")]
    if settings.api_tokens_file:
        with open(settings.api_tokens_file) as f:
            tokens += [line.strip() for line in f]
    return [t for t in tokens if t and not t.startswith("#")]


def create_app(jobs: Jobs, settings: Settings) -> falcon.App:
    tokens = load_tokens(settings)
    middleware = [RequestId(), JobLog()] + ([BearerAuth(tokens)] if tokens else [])
    app = falcon.App(middleware=middleware)
    app.set_error_serializer(serialize_error)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/eval", EvalResource(jobs, settings))
    app.add_route("/runtimes", RuntimesResource(jobs))
    app.add_route("/health", HealthResource(jobs))
    app.add_route("/openapi.json", OpenAPIResource(settings, authenticated=bool(tokens)))
    app.add_route("/metrics", MetricsResource())
    return app
