"""Short jobs first: a job that has used a good share of CPU yields to newer ones.

While a run is supervised, its job's CPU time is checked every CHECK_INTERVAL seconds of
wall-clock time (a job that ends sooner is never checked). Once it reaches the threshold
(the demote_after_cpu setting), the job's cgroup gets the least CPU weight there is
(snekbox.limits.Cgroups.demote): it still has every core no other job wants, and its
time limit still ends it, with the same verdict.
"""

from __future__ import annotations

from snekbox.limits import Cgroups

CHECK_INTERVAL = 0.05


class Demotion:
    """Demotes the job of the nsjail `nsjail_pid` once it has used `threshold` seconds of
    CPU; call check() while it runs."""

    def __init__(self, cgroups: Cgroups, nsjail_pid: int, threshold: float):
        self.cgroups = cgroups
        self.threshold = threshold
        self.done = False
        # nsjail's one child is the job (the pid its run cgroup is named after).
        self._children = f"/proc/{nsjail_pid}/task/{nsjail_pid}/children"

    def check(self) -> None:
        if self.done:
            return
        try:
            with open(self._children) as f:
                children = f.read().split()
            if children and self.cgroups.cpu_used(int(children[0])) >= self.threshold:
                self.cgroups.demote(int(children[0]))
                self.done = True
        except OSError:
            pass  # the job is not in its cgroup yet, or has just ended
