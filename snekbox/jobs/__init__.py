"""Jobs: validated requests run on the jail, a bounded number at once."""

from snekbox.jobs.runner import EvalRequest, JobError, Jobs
from snekbox.jobs.slots import Overloaded, Slots

__all__ = ["EvalRequest", "JobError", "Jobs", "Overloaded", "Slots"]
