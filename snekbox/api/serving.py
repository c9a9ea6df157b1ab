"""gunicorn's settings and hooks for snekbox (`snekbox serve` loads them as
python:snekbox.api.serving). `-b 127.0.0.1:PORT` on the command line overrides bind.

The app is loaded in the master before workers fork, so the host is prepared once (a
private mount namespace, cgroups, runtimes) and a broken host stops the start at once.
"""

import atexit
import os
import shutil
import tempfile

from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

from snekbox import settings

_settings = settings.current()

# Metrics from every worker are gathered in one directory, made fresh for this server
# (named after the master's pid) and removed when the master exits, even on a failed start.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    _master = os.getpid()
    _metrics_dir = tempfile.mkdtemp(prefix=f"snekbox-metrics-{_master}-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir

    @atexit.register
    def _remove_metrics_dir():
        if os.getpid() == _master:  # workers inherit this hook; only the master cleans up
            shutil.rmtree(_metrics_dir, ignore_errors=True)


wsgi_app = "snekbox.api.wsgi:app"
bind = "0.0.0.0:8060"
preload_app = True
workers = _settings.workers
# gthread, with a deadline for each request to arrive (snekbox/api/worker.py).
worker_class = "snekbox.api.worker.DeadlineThreadWorker"
# Job slots and the queue are shared by all workers (snekbox/jobs/slots.py), so one
# worker may be handed all of them: enough threads for every slot, every queued request
# and a few cheap requests (health, metrics), and apart from them one for each request
# being read (at most max_reading; the worker cuts off the slowest beyond). Beyond the
# slots and the queue the service answers 503 itself at once, so no request waits unseen
# in gunicorn's own thread pool queue, and clients still sending cannot starve the jobs.
threads = _settings.jobs_at_once + _settings.max_queue + 4 + _settings.max_reading
timeout = int(_settings.max_time_limit) + 30
graceful_timeout = int(_settings.max_time_limit) + 5
accesslog = "-"
errorlog = "-"
loglevel = "info"
# gunicorn 25+ opens a control socket (gunicornc) in $HOME by default: not needed here,
# and every server of a host would share its path.
control_socket_disable = True


def child_exit(server: Arbiter, worker: Worker) -> None:
    """Forget the live gauges of a worker that is gone, and reclaim the runs it left (if it
    was killed mid-job): its nsjails are stopped and its runs' tmpfs unmounted."""
    from prometheus_client import multiprocess

    from snekbox.jail import reclaim_runs_of

    multiprocess.mark_process_dead(worker.pid)
    reclaim_runs_of(_settings, worker.pid)


def post_worker_init(worker: Worker) -> None:
    """Each worker keeps warm jails of its own, started after the fork."""
    from snekbox.api import wsgi

    wsgi.jobs.start_pool()


def worker_exit(server: Arbiter, worker: Worker) -> None:
    from snekbox.api import wsgi

    wsgi.jobs.close()
