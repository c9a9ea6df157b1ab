"""A run's one clean-up path, whichever way it ends: nsjail gone, then what it left, then
its memfds, /home and uid."""

from __future__ import annotations

import os
import threading
import time

import pytest

from snekbox.filesystem import InputFile
from snekbox.jail import Cancelled, InputFileError, RunSpec, Watch
from snekbox.jail.process import processes_running_as
from snekbox.jail.run import Run
from snekbox.jail.warm import WarmJail
from snekbox.limits import JobLimits

LIMITS = JobLimits(time=5, memory=52428800, output=1000, processes=1)


def released(run: Run) -> bool:
    """The run gave back its uid and /home."""
    return run.lease.fd == -1 and not run.home.path.exists()


def test_a_run_closed_before_nsjail_started_releases_its_uid_and_home(jobs):
    run = Run(jobs.jail)
    assert os.path.ismount(run.home.path)
    run.close()
    assert released(run)
    run.close()  # closing twice is harmless


def test_bad_input_files_release_the_run_before_nsjail_starts(jobs):
    spec = RunSpec(
        jobs.runtimes["default"],
        ("-c", "pass"),
        LIMITS,
        files=(InputFile("a", b""), InputFile("a/b", b"")),
    )
    with pytest.raises(InputFileError), Run(jobs.jail) as run:
        run.load(spec)
    assert not hasattr(run, "proc") and released(run)


def test_a_finished_run_is_released(jobs):
    spec = RunSpec(jobs.runtimes["default"], ("-c", "print(input())"), LIMITS, stdin=b"hi\n")
    with Run(jobs.jail) as run:
        run.load(spec)
        run.start(spec.runtime, LIMITS.jail, 6, spec.args)
        result = run.finish(spec)
    assert (result.stdout, result.status.value) == ("hi\n", "ok")
    assert run.proc.returncode == 0 and released(run)


def test_a_warm_job_whose_nsjail_was_killed_leaves_nothing_behind(jobs, monkeypatch):
    warm = WarmJail(
        jobs.jail,
        jobs.runtimes["default"],
        jobs.pool.limits,
        jobs.settings.max_time_limit,
    )
    ended = []
    monkeypatch.setattr(
        warm, "_end_leftovers", lambda code: ended.append(code) or Run._end_leftovers(warm, code)
    )
    uid = warm.lease.uid
    spec = RunSpec(jobs.runtimes["default"], ("-c", "import time; time.sleep(30)"), LIMITS)
    job = threading.Thread(target=warm.run, args=(spec,))
    job.start()
    deadline = time.monotonic() + 10
    while warm.pipe != -1 or not (jobs_of_uid := processes_running_as(range(uid, uid + 1))):
        assert time.monotonic() < deadline, "the job was never handed over"
        time.sleep(0.05)
    warm.proc.kill()
    job.join()
    assert ended == [-9]  # once, though the job's end and close() both end the run
    assert processes_running_as(range(uid, uid + 1)) == []
    assert [
        p
        for p in jobs.jail.cgroups.parents
        for pid in jobs_of_uid
        if (p / f"NSJAIL.{pid}").exists()
    ] == []
    assert released(warm)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_watch_gets_the_output_as_read_up_to_the_limit(jobs, warm):
    spec = RunSpec(jobs.runtimes["default"], ("-c", "print('a' * 600); print('b' * 600)"), LIMITS)
    chunks: list[bytes] = []
    watch = Watch(sink=chunks.append)
    jail = WarmJail(jobs.jail, spec.runtime, LIMITS.jail, LIMITS.time) if warm else jobs.jail
    result = jail.run(spec, watch)
    assert watch.started.is_set()
    assert (result.truncated, b"".join(chunks)) == (True, result.stdout.encode())
    assert len(b"".join(chunks)) == LIMITS.output


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_cancelled_run_stops_before_its_time_limit_and_releases_everything(jobs, warm):
    spec = RunSpec(jobs.runtimes["default"], ("-c", "import time; time.sleep(30)"), LIMITS)
    watch = Watch()
    threading.Thread(target=lambda: watch.started.wait() and watch.cancel.set()).start()
    if warm:
        run = WarmJail(jobs.jail, spec.runtime, LIMITS.jail, LIMITS.time)
        with pytest.raises(Cancelled):
            run.run(spec, watch)
    else:
        with Run(jobs.jail) as run, pytest.raises(Cancelled):
            run.load(spec)
            run.start(spec.runtime, LIMITS.jail, 40, spec.args)
            run.finish(spec, watch)
    assert released(run)
    assert not processes_running_as(range(run.lease.uid, run.lease.uid + 1))
