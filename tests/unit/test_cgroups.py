"""cgroup detection and nsjail flags, on fake cgroup trees (pure logic)."""

import os
import subprocess

import pytest

from snekbox import limits


def make_v1(root, memsw=True):
    for name in ("memory", "pids"):
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
    (tmp_path / "cgroup.controllers").write_text("cpu\n")
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
