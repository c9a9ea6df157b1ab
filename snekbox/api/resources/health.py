"""GET /health: 200 when a real job ran recently, 503 otherwise."""

from __future__ import annotations

import falcon

from snekbox.jobs import Jobs


class HealthResource:
    def __init__(self, jobs: Jobs):
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ok, detail, checked_at = self.jobs.health.check()
        resp.status = falcon.HTTP_200 if ok else falcon.HTTP_503
        resp.media = {
            "status": "ok" if ok else "unavailable",
            "detail": detail,
            "checked_at": checked_at,
        }
