"""Start-up fails fast and clearly on a broken host; host failures become internal_error."""

import copy
import subprocess
import sys
import time
from pathlib import Path

from snekbox.jail import RunSpec, run_safely
from snekbox.jail.process import processes_running_as
from snekbox.limits import JobLimits
from tests.conftest import ROOT, start_server, stop_server

LIMITS = JobLimits(time=5, memory=52428800, output=1000, processes=1)


def failed_start(env: dict[str, str]) -> str:
    """Start a server that must refuse to start; returns what it said."""
    proc = subprocess.run(
        [sys.executable, "-m", "snekbox", "serve", "-b", "127.0.0.1:0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert proc.returncode != 0
    assert "Listening at" not in proc.stderr
    return proc.stderr


def test_missing_nsjail_stops_the_server_with_a_clear_message():
    assert "SNEKBOX_NSJAIL_PATH" in failed_start({"SNEKBOX_NSJAIL_PATH": "/nonexistent/nsjail"})


def test_unrunnable_runtime_stops_the_server():
    assert "runtime 'old'" in failed_start({"SNEKBOX_RUNTIMES": "old=/nonexistent/python"})


def test_missing_token_file_stops_the_server():
    assert "/nonexistent/tokens" in failed_start({"SNEKBOX_API_TOKENS_FILE": "/nonexistent/tokens"})


def test_a_job_uid_range_holding_an_account_stops_the_server():
    said = failed_start({"SNEKBOX_JOB_UID_BASE": "65000", "SNEKBOX_JOB_UID_COUNT": "1000"})
    assert "nobody (65534) are in the job uid range" in said


def test_a_job_uid_range_too_small_for_the_jails_stops_the_server():
    said = failed_start({"SNEKBOX_JOB_UID_COUNT": "3", "SNEKBOX_MAX_JOBS": "4"})
    assert "SNEKBOX_JOB_UID_COUNT=3 is too small" in said


def test_services_on_one_host_never_lease_the_same_uid():
    # Two services, each with four warm jails, on a range of 12 uids.
    env = {
        "SNEKBOX_JOB_UID_BASE": "61000",
        "SNEKBOX_JOB_UID_COUNT": "12",
        "SNEKBOX_WORKERS": "1",
        "SNEKBOX_MAX_JOBS": "1",
        "SNEKBOX_POOL_SIZE": "4",
    }
    servers = [start_server(env)[0] for _ in range(2)]
    try:
        deadline = time.monotonic() + 20
        while len(jobs := processes_running_as(range(61000, 61012))) < 8:
            assert time.monotonic() < deadline, f"only {len(jobs)} warm jails started"
            time.sleep(0.1)
        uids = [Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0] for pid in jobs]
        assert len(set(uids)) == len(uids) >= 8
    finally:
        for proc in servers:
            stop_server(proc)


def test_failed_tmpfs_mount_is_an_internal_error_with_null_returncode(jobs):
    broken = copy.copy(jobs.jail)
    broken.tmpfs_size = "not-a-size"
    result = run_safely(broken, RunSpec(jobs.runtimes["default"], ("-c", "print(1)"), LIMITS))
    assert (result.returncode, result.status.value) == (None, "internal_error")
    assert "could not run the job" in result.stdout


def test_failing_nsjail_is_255(jobs):
    broken = copy.copy(jobs.jail)
    broken.binary = "/bin/false"
    result = run_safely(broken, RunSpec(jobs.runtimes["default"], ("-c", "print(1)"), LIMITS))
    assert (result.returncode, result.status.value) == (255, "internal_error")


def test_a_server_does_not_keep_copies_of_its_parents_runs(jobs):
    """A server started by a process with runs in flight copies their mounts when it makes
    its namespace; it must drop them, or they would stay pinned for its whole life."""
    with jobs.jail.workdir.new_run(1 << 20, 65534) as home:
        proc, _ = start_server()
        try:
            assert home.path.name not in Path(f"/proc/{proc.pid}/mounts").read_text()
        finally:
            stop_server(proc)
