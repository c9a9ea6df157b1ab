"""GET /openapi.json: an OpenAPI 3.1 document built from the schema that validates requests."""

from __future__ import annotations

import falcon

from snekbox.api import schemas
from snekbox.jobs import request
from snekbox.settings import Settings


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


REASONS = {
    400: "Invalid request",
    401: "Missing or wrong bearer token",
    413: "Body or stdin too large",
    415: "Body is not JSON",
    503: "No job slot free; retry after Retry-After seconds",
}


def _json_or_events(schema: dict, description: str, events: str) -> dict:
    """A 200 answer: JSON, or server-sent events for `Accept: text/event-stream`."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "text/event-stream": {
                "schema": {**schemas.EVENTS, "description": schemas.EVENTS["description"] + events}
            },
        },
    }


def _errors(*codes: int) -> dict:
    return {
        str(code): _json({"$ref": "#/components/schemas/Error"}, REASONS[code]) for code in codes
    }


def document(settings: Settings, authenticated: bool) -> dict:
    """The API description; `authenticated` adds the bearer scheme to every secured path."""
    security: list[dict[str, list[str]]] = [{"bearer": []}] if authenticated else []
    auth_errors = (401,) if authenticated else ()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "snekbox",
            "version": "1.0.0",
            "description": "Runs untrusted Python code in NsJail and returns the result.",
        },
        "paths": {
            "/eval": {
                "post": {
                    "summary": "Run Python code in a fresh jail",
                    "security": security,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request.schema(settings)}},
                    },
                    "responses": {
                        "200": _json_or_events(
                            schemas.EVAL_RESPONSE,
                            "How the job ended",
                            " Events: `output` ({text}) as the job writes, then one `result` "
                            "(the JSON answer).",
                        ),
                        **_errors(400, 413, 415, 503, *auth_errors),
                    },
                }
            },
            "/judge": {
                "post": {
                    "summary": "Run a program on test cases, each in a fresh jail, with verdicts",
                    "description": "The cases run on as many job slots as there are cases (up "
                    "to all of them), taken together: 503 rather than a part of the cases.",
                    "security": security,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request.judge_schema(settings)}},
                    },
                    "responses": {
                        "200": _json_or_events(
                            schemas.JUDGE_RESPONSE,
                            "Each case's result and verdict",
                            " Events: `case` (a case's result) as each is judged, then one "
                            "`summary`.",
                        ),
                        **_errors(400, 413, 415, 503, *auth_errors),
                    },
                }
            },
            "/runtimes": {
                "get": {
                    "summary": "The interpreters a job can ask for",
                    "security": security,
                    "responses": {
                        "200": _json(schemas.RUNTIMES_RESPONSE, "Runtimes"),
                        **_errors(*auth_errors),
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Whether a real job ran recently",
                    "security": [],
                    "responses": {
                        "200": _json(schemas.HEALTH_RESPONSE, "Healthy"),
                        "503": _json(schemas.HEALTH_RESPONSE, "Cannot run jobs"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": security,
                    "responses": {
                        "200": _json({"type": "object"}, "OpenAPI 3.1"),
                        **_errors(*auth_errors),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "security": security,
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_errors(*auth_errors),
                    },
                }
            },
        },
        "components": {
            "schemas": {"Error": schemas.ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


class OpenAPIResource:
    def __init__(self, settings: Settings, authenticated: bool):
        self.document = document(settings, authenticated)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
