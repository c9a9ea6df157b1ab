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


def wait_for(condition: Callable[[], int | None], seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "the condition never held"
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
    version = jobs.jail.cgroups.version
    busy, sleeper = f"busy{os.getpid()}"[:15], f"sleep{os.getpid()}"[:15]
    results = {}

    def start(key: str, code: str) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: results.update({key: run(code, limits={"time": 8})})
        )
        thread.start()
        return thread

    threads = [
        start("busy", NAMED.format(name=busy, code="while True: pass")),
        start("sleeper", NAMED.format(name=sleeper, code="import time; time.sleep(4)")),
    ]
    busy_pid, sleeper_pid = wait_for(lambda: pid_named(busy)), wait_for(lambda: pid_named(sleeper))
    wait_for(lambda: cpu_weight(busy_pid, version) == DEMOTED_WEIGHT[version])
    # A job that has used little CPU keeps its weight, and new jobs start with theirs.
    assert cpu_weight(sleeper_pid, version) == DEFAULT_WEIGHT[version]
    hello = run("print('hello')")
    assert (hello.stdout, hello.returncode, hello.status.value) == ("hello\n", 0, "ok")
    for thread in threads:
        thread.join()
    assert (results["busy"].returncode, results["busy"].status.value) == (137, "timeout")
    assert (results["sleeper"].returncode, results["sleeper"].status.value) == (0, "ok")
