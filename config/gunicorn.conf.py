"""gunicorn settings for snekbox. `-b 127.0.0.1:PORT` on the command line overrides bind.

The app is loaded in the master before workers fork, so the host is prepared once (a
private mount namespace, cgroups, runtimes) and a broken host stops the start at once.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snekbox import settings  # noqa: E402

_settings = settings.current()

wsgi_app = "snekbox.api.wsgi:app"
bind = "0.0.0.0:8060"
preload_app = True
workers = _settings.workers
worker_class = "gthread"
# Job slots and the queue are shared by all workers (snekbox/jobs/slots.py), so one
# worker may be handed all of them: enough threads for every slot, every queued request
# and a few cheap requests (health, metrics). Beyond them the service answers 503 itself
# at once, so no request waits unseen in gunicorn's own thread pool queue.
threads = _settings.jobs_at_once + _settings.max_queue + 4
timeout = int(_settings.max_time_limit) + 30
graceful_timeout = int(_settings.max_time_limit) + 5
accesslog = "-"
errorlog = "-"
loglevel = "info"


def post_worker_init(worker) -> None:
    """Each worker keeps warm jails of its own, started after the fork."""
    from snekbox.api import wsgi
    wsgi.jobs.start_pool()


def worker_exit(server, worker) -> None:
    from snekbox.api import wsgi
    wsgi.jobs.close()
