"""GET /playground: a page to type code, run it and see its answer, from files in the package.

A small resource rather than falcon's static route: a fixed set of files read once, each sent
with the headers that keep whatever a job prints inert (a strict CSP, nosniff, no framing).
"""

from __future__ import annotations

import importlib.resources

import falcon

STATIC = importlib.resources.files("snekbox.api") / "static"
PAGE = "playground.html"
ASSETS = {
    "playground.js": "text/javascript; charset=utf-8",
    "playground.css": "text/css; charset=utf-8",
}
# Everything the page loads comes from here; job output can never become script or markup.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# The paths served here, which need no token: the page asks for one when the API does.
PATHS = {"/", "/playground", *(f"/playground/{name}" for name in ASSETS)}


class PlaygroundResource:
    def __init__(self) -> None:
        self.files = {name: (STATIC / name).read_bytes() for name in [PAGE, *ASSETS]}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._send(resp, PAGE, "text/html; charset=utf-8")

    def on_get_asset(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in ASSETS:
            raise falcon.HTTPNotFound()
        self._send(resp, name, ASSETS[name])

    def _send(self, resp: falcon.Response, name: str, content_type: str) -> None:
        resp.set_headers(HEADERS)
        resp.content_type = content_type
        resp.data = self.files[name]


class RootResource:
    """GET /: the playground. A relative Location, so it works behind a path prefix too."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise falcon.HTTPFound("playground")
