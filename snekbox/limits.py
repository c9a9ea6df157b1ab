"""Per-job limits and the host cgroup tree that nsjail needs to enforce them.

nsjail creates one child cgroup per run (NSJAIL.<pid>) under a parent that must exist
already; this module finds which cgroup version the host uses and prepares that parent.
It also lowers a job's CPU weight when snekbox demotes it (snekbox.jail.priority).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

PARENT = "NSJAIL"
CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids")
# A demoted job's CPU weight: the least there is. On v1 demoted jobs share one cpu cgroup
# (NSJAIL under the service's own cpu cgroup, so that they stay within any CPU quota of the
# service) with these shares; on v2 each one's own cgroup gets it.
V1_DEMOTED_SHARES = 2
V2_DEMOTED_WEIGHT = 1
V2_DEFAULT_WEIGHT = 100
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CgroupError(RuntimeError):
    """The host's cgroups cannot enforce the jail's memory and process limits."""


@dataclasses.dataclass(frozen=True)
class JailLimits:
    """What the kernel holds a jail to from its start: bytes of memory, and processes and
    threads together (the pids cgroup)."""

    memory: int
    processes: int


@dataclasses.dataclass(frozen=True)
class JobLimits:
    """What one job may use: wall-clock seconds, bytes of memory, bytes of output, and
    processes and threads together."""

    time: float
    memory: int
    output: int
    processes: int

    @property
    def jail(self) -> JailLimits:
        return JailLimits(self.memory, self.processes)


@dataclasses.dataclass(frozen=True)
class Cgroups:
    """A prepared parent cgroup and the nsjail flags that point at it."""

    version: int
    root: Path
    limits_swap: bool
    # v1: the service's own cpu cgroup, where jobs start and where NSJAIL holds demoted ones.
    cpu_home: Path | None = None

    @property
    def parents(self) -> list[Path]:
        """The parent cgroup directories: one per v1 controller, or the one v2 directory."""
        if self.version == 2:
            return [self.root / PARENT]
        return [self.root / name / PARENT for name in V1_CONTROLLERS]

    def remove_strays(self) -> list[Path]:
        """Remove the run cgroups (NSJAIL.<job pid>) that an nsjail killed by SIGKILL left
        behind: those whose job no longer exists. One still holding a process cannot be
        removed and stays; one its own nsjail removes meanwhile is simply gone."""
        removed = []
        for parent in self.parents:
            for cgroup in parent.glob(f"{PARENT}.*"):
                pid = cgroup.name.removeprefix(f"{PARENT}.")
                if not pid.isdigit() or _exists(int(pid)):
                    continue
                try:
                    cgroup.rmdir()
                except OSError:
                    continue
                removed.append(cgroup)
        return removed

    def job_cgroup(self, job_pid: int) -> Path:
        """The run cgroup nsjail made for the job `job_pid` (on v1, its pids one)."""
        return self.parents[-1] / f"{PARENT}.{job_pid}"

    def cpu_used(self, job_pid: int) -> float:
        """Seconds of CPU the job's processes have used (v1 counts the living ones and the
        children they reaped, as it has no per-run cpu accounting); OSError once gone."""
        cgroup = self.job_cgroup(job_pid)
        if self.version == 2:
            stat = dict(line.split() for line in (cgroup / "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6
        ticks = 0
        for pid in (cgroup / "cgroup.procs").read_text().split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(n) for n in fields[11:15])  # utime, stime, cutime, cstime
        return ticks / CLOCK_TICKS

    def weigh(self, job_pid: int, demoted: bool) -> None:
        """Give the job the least CPU weight, so that it yields to every other job, or (not
        `demoted`) the weight it started with: on v1 its processes move into NSJAIL under
        the service's cpu cgroup, or back to that cgroup. OSError once it is gone."""
        cgroup = self.job_cgroup(job_pid)
        if self.version == 2:
            weight = V2_DEMOTED_WEIGHT if demoted else V2_DEFAULT_WEIGHT
            (cgroup / "cpu.weight").write_text(str(weight))
            return
        assert self.cpu_home is not None  # prepare() finds it on v1
        target = self.cpu_home / (PARENT if demoted else "") / "cgroup.procs"
        for pid in (cgroup / "cgroup.procs").read_text().split():
            target.write_text(pid)  # one pid per write

    def nsjail_args(self, limits: JailLimits) -> list[str]:
        """Flags that put a run under `parent` within `limits`, with no swap."""
        if self.version == 2:
            args = ["--use_cgroupv2", "--cgroupv2_mount", str(self.root / PARENT)]
            swap = ["--cgroup_mem_swap_max", "0"]
        else:
            args = [
                "--cgroup_mem_mount",
                str(self.root / "memory"),
                "--cgroup_pids_mount",
                str(self.root / "pids"),
                "--cgroup_mem_parent",
                PARENT,
                "--cgroup_pids_parent",
                PARENT,
            ]
            swap = ["--cgroup_mem_memsw_max", str(limits.memory)]
        args += ["--cgroup_mem_max", str(limits.memory), "--cgroup_pids_max", str(limits.processes)]
        return args + swap if self.limits_swap else args


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _read_limit(path: Path) -> int | None:
    try:
        value = path.read_text().split()
    except OSError:
        return None
    return int(value[0]) if value and value[0].isdigit() else None


def capacity(root: Path = CGROUP_ROOT) -> tuple[float, int]:
    """Cores and bytes of memory this service may use: the machine's, or less where a
    container's cgroup (a Kubernetes pod's limits) says so."""
    cores: float = len(os.sched_getaffinity(0))
    quota = (root / "cpu.max").read_text().split() if (root / "cpu.max").exists() else []
    if len(quota) == 2 and quota[0].isdigit():
        cores = min(cores, int(quota[0]) / int(quota[1]))
    v1_quota, v1_period = (
        _read_limit(root / "cpu" / f"cpu.cfs_{name}_us") for name in ("quota", "period")
    )
    if v1_quota and v1_period:
        cores = min(cores, v1_quota / v1_period)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        memory = min(memory, _read_limit(limit) or memory)
    return cores, memory


def detect_version(root: Path = CGROUP_ROOT) -> int:
    """2 on a unified (pure v2) host, 1 where v1 memory and pids hierarchies are mounted."""
    if (root / "cgroup.controllers").is_file():
        return 2
    if all((root / name / "tasks").is_file() for name in V1_CONTROLLERS):
        return 1
    raise CgroupError(
        f"no usable cgroups under {root}: mount cgroup v2 there, or the v1 'memory' and 'pids' "
        "hierarchies under it (in Docker: run the container with --privileged)"
    )


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as e:
        raise CgroupError(
            f"cannot write {value!r} to {path}: {e.strerror}; snekbox needs root "
            "and a writable cgroup tree (in Docker: --privileged)"
        ) from e


def _enable_controllers(cgroup: Path) -> None:
    wanted = {"memory", "pids", "cpu"}
    available = set((cgroup / "cgroup.controllers").read_text().split())
    if not wanted <= available:
        raise CgroupError(
            f"cgroup controllers {sorted(wanted - available)} are not available "
            f"in {cgroup}; enable them for snekbox's parent cgroup"
        )
    enabled = set((cgroup / "cgroup.subtree_control").read_text().split())
    if not wanted <= enabled:
        _write(cgroup / "cgroup.subtree_control", " ".join("+" + c for c in wanted))


def _move_self_out_of_root(root: Path) -> None:
    """Obey cgroup v2's "no internal processes" rule when our cgroup is a namespace root.

    Inside a container the root we see is a normal cgroup, so it may only delegate
    controllers once no process lives in it: move this service into a leaf of its own.
    """
    leaf = root / "snekbox-service"
    leaf.mkdir(exist_ok=True)
    for pid in (root / "cgroup.procs").read_text().split():
        try:
            (leaf / "cgroup.procs").write_text(pid)
        except OSError:
            pass  # a process that exited meanwhile, or a kernel thread that cannot move


def _own_cgroup(controller: str) -> str:
    """This process's cgroup in a v1 `controller` hierarchy, relative to its root."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return path.lstrip("/")
    return ""


def prepare(root: Path = CGROUP_ROOT) -> Cgroups:
    """Create snekbox's parent cgroup with memory, pids and cpu delegated to it (on v1,
    NSJAIL under the service's own cpu cgroup is where demoted jobs go)."""
    version = detect_version(root)
    if version == 1:
        cpu_home = root / "cpu" / _own_cgroup("cpu")
        if not cpu_home.is_dir():
            # In a container (Docker on v1) the hierarchy is mounted from the service's own
            # cgroup down, so the path /proc/self/cgroup names is not there: its root is ours.
            cpu_home = root / "cpu"
        for parent in (*(root / name for name in V1_CONTROLLERS), cpu_home):
            try:
                (parent / PARENT).mkdir(exist_ok=True)
            except OSError as e:
                raise CgroupError(
                    f"cannot create {parent / PARENT}: {e.strerror}; snekbox needs the v1 "
                    f"memory, pids and cpu hierarchies mounted under {root}"
                ) from e
        _write(cpu_home / PARENT / "cpu.shares", str(V1_DEMOTED_SHARES))
        memsw = root / "memory" / PARENT / "memory.memsw.limit_in_bytes"
        return Cgroups(1, root, limits_swap=memsw.exists(), cpu_home=cpu_home)

    parent = root / PARENT
    try:
        _enable_controllers(root)
    except CgroupError:
        _move_self_out_of_root(root)
        _enable_controllers(root)
    parent.mkdir(exist_ok=True)
    _enable_controllers(parent)
    probe = parent / f"probe.{os.getpid()}"
    probe.mkdir(exist_ok=True)
    limits_swap = (probe / "memory.swap.max").exists()
    probe.rmdir()
    return Cgroups(2, root, limits_swap=limits_swap)
