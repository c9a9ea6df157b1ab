"""Jobs: requests checked at one boundary, then run on the jail, a bounded number at once."""

from snekbox.jobs.request import RequestError, RequestParser, RequestTooLarge
from snekbox.jobs.runner import JobError, Jobs
from snekbox.jobs.slots import Overloaded, Slots

__all__ = [
    "JobError",
    "Jobs",
    "Overloaded",
    "RequestError",
    "RequestParser",
    "RequestTooLarge",
    "Slots",
]
