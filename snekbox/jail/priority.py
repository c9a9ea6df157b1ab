"""Short jobs first: a job that has used a good share of CPU yields to newer ones.

While a run is supervised, its job's CPU time is checked every Demotion.interval seconds
of wall-clock time (a job that ends sooner is never checked). Once it reaches the
threshold (the demote_after_cpu setting), the job's cgroup gets the least CPU weight there is
(snekbox.limits.Cgroups.weigh): it still has every core no other job wants, and its
time limit still ends it, with the same verdict. Before snekbox stops a demoted job it
gets its weight back, as a process needs CPU to die: on a busy host it would otherwise
hold its slot long after its time limit.
"""

from __future__ import annotations

import contextlib

from snekbox.limits import Cgroups


class Demotion:
    """Demotes the job of the nsjail `nsjail_pid` once it has used `threshold` seconds of
    CPU (a snekbox.jail.process.Watch)."""

    interval = 0.1

    def __init__(self, cgroups: Cgroups, nsjail_pid: int, threshold: float):
        self.cgroups = cgroups
        self.threshold = threshold
        self.job: int | None = None  # once demoted
        # nsjail's one child is the job (the pid its run cgroup is named after).
        self._children = f"/proc/{nsjail_pid}/task/{nsjail_pid}/children"

    def check(self) -> None:
        if self.job is not None:
            return
        try:
            with open(self._children) as f:
                children = f.read().split()
            if children and self.cgroups.cpu_used(int(children[0])) >= self.threshold:
                self.cgroups.weigh(int(children[0]), demoted=True)
                self.job = int(children[0])
        except (OSError, ValueError):
            pass  # the job is not in its cgroup yet, or has just ended

    def before_stop(self) -> None:
        if self.job is not None:
            with contextlib.suppress(OSError):  # ended meanwhile
                self.cgroups.weigh(self.job, demoted=False)
