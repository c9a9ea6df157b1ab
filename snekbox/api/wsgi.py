"""The WSGI entry point for gunicorn: prepares the host once, then serves."""

from __future__ import annotations

import logging
import sys

from snekbox import settings
from snekbox.api.app import create_app
from snekbox.api.middleware import log as job_log
from snekbox.jail import JailSetupError
from snekbox.jobs import Jobs

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# The job log is JSON, one line per job, with nothing before it for a log shipper to strip.
_job_lines = logging.StreamHandler()
_job_lines.setFormatter(logging.Formatter("%(message)s"))
job_log.addHandler(_job_lines)
job_log.propagate = False

try:
    jobs = Jobs.start(settings.current())
    app = create_app(jobs, settings.current())
except (JailSetupError, OSError, settings.SettingsError) as e:
    sys.exit(f"snekbox: {e}")
