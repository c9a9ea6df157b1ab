"""Prometheus metrics of the service, correct across gunicorn's worker processes.

With PROMETHEUS_MULTIPROC_DIR set (snekbox/api/serving.py does it), every worker writes
its samples there and GET /metrics aggregates all of them.
"""

from __future__ import annotations

import os

import falcon
import prometheus_client
from prometheus_client import multiprocess

JOBS = prometheus_client.Counter("snekbox_jobs_total", "Jobs run, by how they ended", ["status"])
DURATION = prometheus_client.Histogram(
    "snekbox_job_duration_seconds",
    "Wall-clock seconds of each job",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_FLIGHT = prometheus_client.Gauge(
    "snekbox_jobs_in_flight", "Jobs running or waiting now", multiprocess_mode="livesum"
)
JUDGED = prometheus_client.Counter(
    "snekbox_judged_cases_total", "Test cases judged by POST /judge, by verdict", ["verdict"]
)
REJECTED = prometheus_client.Counter(
    "snekbox_requests_rejected_total", "Requests refused, by HTTP status", ["code"]
)


class MetricsResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = prometheus_client.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = prometheus_client.REGISTRY
        resp.content_type = prometheus_client.CONTENT_TYPE_LATEST
        resp.data = prometheus_client.generate_latest(registry)
