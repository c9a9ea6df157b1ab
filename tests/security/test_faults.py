"""Faults on the host side: a broken nsjail at start-up, a worker killed mid-request, a full
/home, a failed mount. Each ends in a clear error or a clean answer, never a crash."""

import base64
import copy
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from snekbox.jail import RunSpec, find_nsjail, run_safely
from snekbox.limits import JobLimits
from tests.api.test_startup import failed_start
from tests.conftest import ROOT, server_log, start_server, stop_server
from tests.helpers import processes_mentioning


def test_nsjail_that_is_not_executable_stops_the_server(tmp_path, settings):
    copy = tmp_path / "nsjail"
    shutil.copy(find_nsjail(settings.nsjail_path), copy)
    copy.chmod(0o644)
    said = failed_start({"SNEKBOX_NSJAIL_PATH": str(copy)})
    assert "no executable nsjail" in said and str(copy) in said


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[
                1
            ] == str(pid):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _run_mounts(server_pid: int) -> list[str]:
    return [
        line
        for line in Path(f"/proc/{server_pid}/mounts").read_text().splitlines()
        if "snekbox-home" in line
    ]


@pytest.fixture
def two_workers():
    # No warm jails: the test counts a worker's nsjail children as the jobs it is running.
    proc, client = start_server(
        {"SNEKBOX_WORKERS": "2", "SNEKBOX_MAX_JOBS": "8", "SNEKBOX_POOL_SIZE": "0"}
    )
    yield proc, client
    stop_server(proc)


@pytest.mark.slow
def test_a_worker_killed_mid_request_is_replaced_and_others_go_on(two_workers):
    proc, client = two_workers
    deadline = time.monotonic() + 20
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = set(_children(proc.pid))
    assert len(workers) == 2
    results: dict[int, object] = {}

    def slow(i: int) -> None:
        try:
            results[i] = client.eval(input=f"import time; time.sleep(4); print({i})")
        except Exception as e:  # the requests on the killed worker lose their connection
            results[i] = e

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.02)  # spread over both workers, each accepting when it is free
    # Wait until every job runs, then kill a worker that has at least one.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        busy = {w: [c for c in _children(w) if _name(c) == "nsjail"] for w in workers}
        if sum(len(jails) for jails in busy.values()) == 6:
            break
        time.sleep(0.05)
    victim = max(busy, key=lambda w: len(busy[w]))
    survivor_jobs = 6 - len(busy[victim])
    os.kill(victim, signal.SIGKILL)
    # Its jails (their jobs sleep 4 s) are stopped at once rather than left to run unwatched.
    orphans = busy[victim]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in orphans):
        time.sleep(0.05)
    assert [pid for pid in orphans if Path(f"/proc/{pid}").exists()] == []
    for t in threads:
        t.join()

    answered = [r for r in results.values() if isinstance(r, dict)]
    assert len(answered) == survivor_jobs
    assert all(r["status"] == "ok" for r in answered)
    # A fresh worker takes the dead one's place and the service answers as before.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(set(_children(proc.pid)) - {victim}) < 2:
        time.sleep(0.1)
    assert victim not in _children(proc.pid) and len(_children(proc.pid)) == 2
    assert client.get("/health").status == 200
    assert [client.eval(input="print('after')")["stdout"] for _ in range(4)] == ["after\n"] * 4
    # The dead worker's runs are cleaned up too: no tmpfs of theirs stays mounted (the new
    # worker's warm jails have runs of their own).

    def victims_runs() -> list[str]:
        return [m for m in _run_mounts(proc.pid) if f"/runs/{victim}-" in m]

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and victims_runs():
        time.sleep(0.1)
    assert victims_runs() == []


def test_a_killed_workers_warm_jails_are_reclaimed():
    proc, client = start_server({"SNEKBOX_WORKERS": "2", "SNEKBOX_POOL_SIZE": "4"})
    try:
        deadline = time.monotonic() + 20
        warm: dict[int, list[int]] = {}
        while time.monotonic() < deadline:
            warm = {
                w: [c for c in _children(w) if _name(c) == "nsjail"] for w in _children(proc.pid)
            }
            if len(warm) == 2 and all(len(jails) == 2 for jails in warm.values()):
                break
            time.sleep(0.05)
        victim = next(iter(warm))
        assert len(warm[victim]) == 2
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            any(Path(f"/proc/{pid}").exists() for pid in warm[victim])
            or any(f"/runs/{victim}-" in m for m in _run_mounts(proc.pid))
        ):
            time.sleep(0.05)
        assert [pid for pid in warm[victim] if Path(f"/proc/{pid}").exists()] == []
        assert [m for m in _run_mounts(proc.pid) if f"/runs/{victim}-" in m] == []
        assert client.eval(input="print('still here')")["stdout"] == "still here\n"
    finally:
        stop_server(proc)


FILL_MORE = """
import errno, os
print(os.path.getsize("fill"), flush=True)
try:
    with open("more", "wb", buffering=0) as f:
        f.write(b"m" * 65536)
    print("wrote more")
except OSError as e:
    print(errno.errorcode[e.errno])
os.remove("more")
"""


def test_inputs_filling_home_exactly_then_writing_more(run, settings):
    result = run(FILL_MORE, files={"fill": b"\0" * settings.tmpfs_size})
    assert (result.returncode, result.status.value) == (0, "ok"), result.stdout
    assert result.stdout == f"{settings.tmpfs_size}\nENOSPC\n"
    assert result.files == ()  # the unchanged input is not sent back


def test_a_full_home_over_http(client, settings):
    content = base64.b64encode(b"\0" * settings.tmpfs_size).decode()
    body = client.eval(input=FILL_MORE, files=[{"path": "fill", "content": content}])
    assert (body["status"], body["stdout"]) == ("ok", f"{settings.tmpfs_size}\nENOSPC\n")
    assert client.get("/health").status == 200


def test_runs_that_cannot_be_made_are_internal_errors_over_http(server, settings):
    proc, client = server
    remount = ["nsenter", "-t", str(proc.pid), "-m", "mount", "-o"]
    subprocess.run(remount + ["remount,ro", settings.work_dir], check=True)
    try:
        body = client.eval(input="print(1)")
        assert (body["returncode"], body["status"], body["signal"]) == (
            None,
            "internal_error",
            None,
        )
        assert body["stdout"] == "snekbox could not run the job: Read-only file system"
    finally:
        subprocess.run(remount + ["remount,rw", settings.work_dir], check=True)
    assert client.eval(input="print(1)")["stdout"] == "1\n"


def test_a_seccomp_policy_nsjail_cannot_compile_is_reported(tmp_path):
    # "umount2" is the kernel's name; kafel calls it "umount" and rejects the other. Such a
    # server runs no job: each answers internal_error, /health says so, and the log says why.
    config = (ROOT / "config" / "snekbox.cfg").read_text()
    assert "    mount, umount," in config
    broken = tmp_path / "snekbox.cfg"
    broken.write_text(config.replace("    mount, umount,", "    mount, umount2,"))
    proc, client = start_server({"SNEKBOX_NSJAIL_CONFIG": str(broken)}, wait_healthy=False)
    try:
        body = client.eval(input="print(1)")
        assert (body["status"], body["returncode"]) == ("internal_error", 255)
        assert client.get("/health").status == 503
    finally:
        stop_server(proc)
    assert "Undefined identifier `umount2'" in server_log(proc)


def test_cgroups_left_by_an_earlier_killed_nsjail_are_removed_at_the_next_start(jobs):
    # nsjail names a job's cgroups after the job's pid; SIGKILLed while snekbox was not
    # watching (with the whole service, say), it leaves them behind, empty.
    gone = subprocess.Popen(["true"])
    gone.wait()
    strays = [parent / f"NSJAIL.{gone.pid}" for parent in jobs.jail.cgroups.parents]
    for cgroup in strays:
        cgroup.mkdir()
    proc, _ = start_server()
    stop_server(proc)
    assert [cgroup for cgroup in strays if cgroup.exists()] == []
    removed = len(strays)  # one per v1 controller, or the v2 one
    assert f"removed {removed} cgroups left by nsjail processes killed earlier" in server_log(proc)


def test_a_job_that_outlives_its_killed_nsjail_is_killed_and_its_cgroups_removed(jobs, tmp_path):
    # The policy keeps a job from clearing the parent-death signal nsjail gives it. Were a
    # job to outlive its nsjail anyway, snekbox kills what runs as the job's uid and removes
    # the cgroups left, before the uid goes to another jail.
    config = (ROOT / "config" / "snekbox.cfg").read_text()
    allowed = '"      (option & 0xffffffff) == 2 ||'
    assert allowed in config
    lax = tmp_path / "snekbox.cfg"  # PR_SET_PDEATHSIG (1) allowed too
    lax.write_text(config.replace(allowed, allowed.replace("(", "option == 1 || (", 1)))
    jail = copy.copy(jobs.jail)
    jail.config = lax
    token = f"outlive-{os.getpid()}-{time.monotonic_ns()}"
    code = "import ctypes, time\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\ntime.sleep(30)"
    # The job keeps its output pipe open, so snekbox waits for the time limit: 2 s.
    spec = RunSpec(jobs.runtimes["default"], ("-c", code, token), JobLimits(2, 52428800, 1000, 1))
    job = threading.Thread(target=run_safely, args=(jail, spec))
    job.start()
    deadline = time.monotonic() + 10
    while len(pids := {_name(p): p for p in processes_mentioning(token)}) < 2:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    time.sleep(0.5)  # past the prctl
    os.kill(pids["nsjail"], signal.SIGKILL)
    job.join()
    assert processes_mentioning(token) == []
    assert [p for p in jobs.jail.cgroups.parents if (p / f"NSJAIL.{pids['python']}").exists()] == []
