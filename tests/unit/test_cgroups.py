"""cgroup detection and nsjail flags, on fake cgroup trees (pure logic)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from snekbox import limits


@pytest.fixture(autouse=True)
def service_in_the_root_cgroup(monkeypatch):
    """As the fake trees have it, whichever cpu cgroup the tests run in."""
    monkeypatch.setattr(limits, "_own_cgroup", lambda controller: "")


def make_v1(root, memsw=True):
    for name in ("memory", "pids", "cpu"):
        (root / name).mkdir()
        (root / name / "tasks").write_text("")
    if memsw:
        # A real kernel creates this inside every new memory cgroup; a fake tree cannot.
        (root / "memory" / "NSJAIL").mkdir()
        (root / "memory" / "NSJAIL" / "memory.memsw.limit_in_bytes").write_text("")


def test_detects_v1(tmp_path):
    make_v1(tmp_path)
    assert limits.detect_version(tmp_path) == 1


def test_detects_v2(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    assert limits.detect_version(tmp_path) == 2


def test_no_cgroups_is_a_clear_error(tmp_path):
    with pytest.raises(limits.CgroupError, match="--privileged"):
        limits.detect_version(tmp_path)


def test_v1_prepare_creates_parents_and_limits_swap(tmp_path):
    make_v1(tmp_path)
    cgroups = limits.prepare(tmp_path)
    assert (tmp_path / "pids" / "NSJAIL").is_dir()
    args = cgroups.nsjail_args(limits.JailLimits(memory=1000, processes=3))
    assert args[args.index("--cgroup_mem_max") + 1] == "1000"
    assert args[args.index("--cgroup_pids_max") + 1] == "3"
    assert args[args.index("--cgroup_mem_memsw_max") + 1] == "1000"
    assert "--use_cgroupv2" not in args


def test_v1_prepare_gives_demoted_jobs_the_least_cpu_shares(tmp_path):
    make_v1(tmp_path)
    limits.prepare(tmp_path)
    assert (tmp_path / "cpu" / "NSJAIL" / "cpu.shares").read_text() == "2"


def test_v1_demoted_jobs_stay_under_the_services_own_cpu_cgroup(tmp_path, monkeypatch):
    make_v1(tmp_path)
    home = tmp_path / "cpu" / "system.slice" / "snekbox.service"
    home.mkdir(parents=True)
    monkeypatch.setattr(limits, "_own_cgroup", lambda controller: "system.slice/snekbox.service")
    cgroups = limits.prepare(tmp_path)
    assert (home / "NSJAIL" / "cpu.shares").read_text() == "2"
    assert cgroups.cpu_home == home


def test_v1_in_a_container_the_cpu_hierarchys_root_is_the_services_own(tmp_path, monkeypatch):
    make_v1(tmp_path)  # mounted from the container's cgroup down, which /proc names in full
    monkeypatch.setattr(limits, "_own_cgroup", lambda controller: "docker/0123abcd")
    cgroups = limits.prepare(tmp_path)
    assert cgroups.cpu_home == tmp_path / "cpu"
    assert (tmp_path / "cpu" / "NSJAIL" / "cpu.shares").read_text() == "2"


def test_v1_without_cpu_hierarchy_is_a_clear_error(tmp_path):
    make_v1(tmp_path)
    (tmp_path / "cpu" / "tasks").unlink()
    (tmp_path / "cpu").rmdir()
    with pytest.raises(limits.CgroupError, match="memory, pids and cpu hierarchies"):
        limits.prepare(tmp_path)


def test_v1_demotion_moves_every_process_of_the_run_into_the_cpu_parent_and_back(
    tmp_path, monkeypatch
):
    make_v1(tmp_path)
    cgroups = limits.prepare(tmp_path)
    run = tmp_path / "pids" / "NSJAIL" / "NSJAIL.42"
    run.mkdir()
    (run / "cgroup.procs").write_text("42\n43\n")
    # A real cgroup.procs takes one pid per write; a fake file would keep only the last.
    written = []
    monkeypatch.setattr(Path, "write_text", lambda path, text: written.append((path, text)))
    cgroups.weigh(42, demoted=True)
    cgroups.weigh(42, demoted=False)
    demoted, root = tmp_path / "cpu" / "NSJAIL" / "cgroup.procs", tmp_path / "cpu" / "cgroup.procs"
    assert written == [(demoted, "42"), (demoted, "43"), (root, "42"), (root, "43")]


def test_v1_cpu_used_counts_the_run_processes(tmp_path):
    cgroups = limits.Cgroups(1, tmp_path, True)
    run = tmp_path / "pids" / "NSJAIL" / "NSJAIL.1"
    run.mkdir(parents=True)
    (run / "cgroup.procs").write_text(f"{os.getpid()}\n")
    while time.process_time() < 0.05:
        pass
    assert cgroups.cpu_used(1) >= 0.04


def test_v2_demotion_sets_the_run_cgroups_weight_and_back_and_reads_its_usage(tmp_path):
    cgroups = limits.Cgroups(2, tmp_path, True)
    run = tmp_path / "NSJAIL" / "NSJAIL.7"
    run.mkdir(parents=True)
    (run / "cpu.stat").write_text("usage_usec 250000\nuser_usec 200000\nsystem_usec 50000\n")
    (run / "cpu.weight").write_text("100\n")
    assert cgroups.cpu_used(7) == 0.25
    cgroups.weigh(7, demoted=True)
    assert (run / "cpu.weight").read_text() == "1"
    cgroups.weigh(7, demoted=False)
    assert (run / "cpu.weight").read_text() == "100"


def test_v1_without_swap_accounting_sets_no_swap_flag(tmp_path):
    make_v1(tmp_path, memsw=False)
    assert "--cgroup_mem_memsw_max" not in limits.prepare(tmp_path).nsjail_args(
        limits.JailLimits(memory=1000, processes=1)
    )


def test_v2_flags_point_at_the_parent_and_forbid_swap():
    cgroups = limits.Cgroups(version=2, root=limits.CGROUP_ROOT, limits_swap=True)
    args = cgroups.nsjail_args(limits.JailLimits(memory=52428800, processes=4))
    assert args[args.index("--cgroup_pids_max") + 1] == "4"
    assert args[:3] == ["--use_cgroupv2", "--cgroupv2_mount", "/sys/fs/cgroup/NSJAIL"]
    assert args[args.index("--cgroup_mem_swap_max") + 1] == "0"


def test_v2_missing_controller_is_a_clear_error(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    (tmp_path / "cgroup.procs").write_text("")
    with pytest.raises(limits.CgroupError, match="memory"):
        limits.prepare(tmp_path)


def test_capacity_follows_container_limits(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "memory.max").write_text("1073741824\n")
    assert limits.capacity(tmp_path) == (min(1.5, len(os.sched_getaffinity(0))), 1073741824)


def test_capacity_without_limits_is_the_machines(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    cores, memory = limits.capacity(tmp_path)
    assert cores == len(os.sched_getaffinity(0))
    assert memory == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_this_host_is_prepared(jobs):
    cgroups = jobs.jail.cgroups
    assert all(parent.is_dir() for parent in cgroups.parents)


def test_only_run_cgroups_of_jobs_that_are_gone_count_as_strays(tmp_path):
    parent = tmp_path / "NSJAIL"
    gone = subprocess.Popen(["true"])
    gone.wait()
    for name in (f"NSJAIL.{gone.pid}", f"NSJAIL.{os.getpid()}", "NSJAIL.x1", "other.1"):
        (parent / name).mkdir(parents=True)
    (parent / f"NSJAIL.{gone.pid}" / "busy").mkdir()  # cannot be removed: left alone
    (parent / "NSJAIL.1").mkdir()
    assert limits.Cgroups(2, tmp_path, True).remove_strays() == []
    (parent / f"NSJAIL.{gone.pid}" / "busy").rmdir()
    assert limits.Cgroups(2, tmp_path, True).remove_strays() == [parent / f"NSJAIL.{gone.pid}"]
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        [f"NSJAIL.{os.getpid()}", "NSJAIL.x1", "other.1", "NSJAIL.1"]
    )
