"""GET /runtimes: the interpreters a job can ask for."""

from __future__ import annotations

import falcon

from snekbox.jobs import Jobs


class RuntimesResource:
    def __init__(self, jobs: Jobs):
        self.jobs = jobs

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "runtimes": [
                {
                    "name": runtime.name,
                    "version": runtime.version,
                    "executable_path": runtime.executable_path,
                    "default": name == "default",
                }
                for name, runtime in sorted(self.jobs.runtimes.items())
            ]
        }
