"""Where a benchmarked server's CPU goes: busy time across all cores, and a breakdown.

Busy time comes from /proc/stat. The breakdown samples every core with `perf record`
(cpu-clock, so it works without hardware counters, as on most VMs) and sorts the samples
by process: the server's own processes (those holding its listening socket: gunicorn's
master and workers), the nsjail processes they start and the interpreters those run (both
found through the fork events perf records), kernel threads, and everything else on the
machine (the bench's own client among it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_HZ = 499
KTHREADD = 2
PARTS = ("interpreter", "nsjail", "service", "kernel threads", "other processes")
_FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
_KERNEL_SPACE = 0xFFFF800000000000


def busy_seconds() -> float:
    """CPU seconds spent on all cores since boot, idle and I/O wait excluded."""
    with open("/proc/stat") as f:
        fields = [int(n) for n in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def server_pids(port: int) -> set[int]:
    """The local processes holding the TCP socket that listens on `port` (none when the
    server is on another host or in another network namespace)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    found = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd.path) in inodes for fd in os.scandir(f"{entry.path}/fd")):
                found.add(int(entry.name))
    return found


@contextlib.contextmanager
def profile(server: set[int]) -> Iterator[dict[str, dict[str, float]]]:
    """Sample every core while the block runs; then fill the yielded dict with CPU seconds
    per part (PARTS) under "all", and the kernel-mode share of them under "kernel mode".
    Stays empty without perf or a local server."""
    parts: dict[str, dict[str, float]] = {}
    perf = shutil.which("perf")
    if perf is None or not server:
        yield parts
        return
    with tempfile.TemporaryDirectory(prefix="snekbox-bench-") as tmp:
        data = Path(tmp) / "perf.data"
        argv = [perf, "record", "-a", "-q", "-e", "cpu-clock", "-F", str(SAMPLE_HZ)]
        recorder = subprocess.Popen(
            [*argv, "-o", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            yield parts
        finally:
            recorder.send_signal(signal.SIGINT)
            recorder.wait()
        script = subprocess.run(
            [perf, "script", "-i", str(data), "--show-task-events", "-F", "comm,pid,ip"],
            capture_output=True,
            text=True,
        )
    parts.update(_sort(script.stdout, server))


def _sort(script: str, server: set[int]) -> dict[str, dict[str, float]]:
    """CPU seconds per part from `perf script` lines: samples (COMM PID IP) and fork
    events, which tell each process's parent."""
    parents: dict[int, int] = {}
    samples: list[tuple[str, int, bool]] = []
    for line in script.splitlines():
        if fork := _FORK.search(line):
            child, parent = int(fork[1]), int(fork[2])
            if child != parent:
                parents[child] = parent
        elif "PERF_RECORD" not in line and len(fields := line.rsplit(None, 2)) == 3:
            with contextlib.suppress(ValueError):
                samples.append(
                    (fields[0].strip(), int(fields[1]), int(fields[2], 16) >= _KERNEL_SPACE)
                )
    every: Counter[str] = Counter()
    kernel: Counter[str] = Counter()
    for comm, pid, in_kernel in samples:
        if pid == 0:
            continue  # idle
        part = _part(pid, comm, server, parents)
        every[part] += 1
        kernel[part] += in_kernel
    return {
        name: {part: counts[part] / SAMPLE_HZ for part in PARTS}
        for name, counts in (("all", every), ("kernel mode", kernel))
    }


def _part(pid: int, comm: str, server: set[int], parents: dict[int, int]) -> str:
    if pid in server:
        return "service"
    ancestor = parents.get(pid)
    while ancestor is not None and ancestor not in server and ancestor != KTHREADD:
        ancestor = parents.get(ancestor)
    if ancestor in server:
        return "nsjail" if comm == "nsjail" else "interpreter"
    return "kernel threads" if ancestor == KTHREADD or pid == KTHREADD else "other processes"
