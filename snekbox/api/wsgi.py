"""The WSGI entry point for gunicorn: prepares the host once, then serves."""

from __future__ import annotations

import logging
import sys

from snekbox import settings
from snekbox.api.app import create_app
from snekbox.jail import JailSetupError
from snekbox.jobs import Jobs

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

try:
    jobs = Jobs.start(settings.current())
    app = create_app(jobs, settings.current())
except (JailSetupError, OSError, settings.SettingsError) as e:
    sys.exit(f"snekbox: {e}")
