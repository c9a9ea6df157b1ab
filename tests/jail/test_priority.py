"""Short jobs first: a job past its share of CPU yields to others, seen from outside."""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from snekbox import limits

# The job names its process (prctl PR_SET_NAME) so that it can be found in /proc.
NAMED = "import ctypes\nctypes.CDLL(None).prctl(15, b'{name}')\n{code}"
DEFAULT_WEIGHT = {1: 1024, 2: 100}
DEMOTED_WEIGHT = {1: limits.V1_DEMOTED_SHARES, 2: limits.V2_DEMOTED_WEIGHT}


def wait_for(condition: Callable[[], int | None], results: dict, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"the condition never held; jobs ended: {results}"
        time.sleep(0.02)
    return value


def pid_named(name: str) -> int | None:
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and Path(entry.path, "comm").read_text().strip() == name:
                return int(entry.name)
        except OSError:
            pass
    return None


def cpu_weight(pid: int, version: int) -> int:
    """The CPU weight of the cgroup the process `pid` is scheduled in."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if version == 1 and "cpu" in controllers.split(","):
            return int((limits.CGROUP_ROOT / "cpu" / path.lstrip("/") / "cpu.shares").read_text())
        if version == 2 and controllers == "":
            return int((limits.CGROUP_ROOT / path.lstrip("/") / "cpu.weight").read_text())
    raise AssertionError(f"no cpu cgroup for {pid}")


def test_cpu_bound_job_is_demoted_and_short_jobs_beside_it_finish(run, jobs):
    cgroups = jobs.jail.cgroups
    busy, sleeper = f"busy{os.getpid()}"[:15], f"sleep{os.getpid()}"[:15]
    results: dict = {}

    def start(key: str, code: str, seconds: float) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: results.update({key: run(code, limits={"time": seconds})})
        )
        thread.start()
        return thread

    # Time limits generous enough to watch them on a slow (emulated) host.
    threads = [
        start("busy", NAMED.format(name=busy, code="while True: pass"), 10),
        start("sleeper", NAMED.format(name=sleeper, code="import time; time.sleep(3)"), 30),
    ]
    busy_pid = wait_for(lambda: pid_named(busy), results)
    sleeper_pid = wait_for(lambda: pid_named(sleeper), results)
    wait_for(
        lambda: cpu_weight(busy_pid, cgroups.version) == DEMOTED_WEIGHT[cgroups.version], results
    )
    # A job that has used less CPU than the threshold keeps its weight.
    if cgroups.cpu_used(sleeper_pid) < jobs.jail.demote_after_cpu:
        assert cpu_weight(sleeper_pid, cgroups.version) == DEFAULT_WEIGHT[cgroups.version]
    hello = run("print('hello')")
    assert (hello.stdout, hello.returncode, hello.status.value) == ("hello\n", 0, "ok")
    for thread in threads:
        thread.join()
    # Verdicts as without demotion: the time limit still ends the demoted job.
    assert (results["busy"].returncode, results["busy"].status.value) == (137, "timeout")
    assert (results["sleeper"].returncode, results["sleeper"].status.value) == (0, "ok")
