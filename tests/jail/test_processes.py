"""The process limit: processes and threads together, from the default of one to the
most a request may ask for; whatever a job starts ends with it."""

from __future__ import annotations

import pytest

from snekbox.jail.process import processes_running_as
from snekbox.jail.run import Run
from snekbox.jobs import RequestError
from tests.conftest import request_document

# n threads, all alive at once (they meet at a barrier) before any of them ends.
THREADS = """
import threading
together = threading.Barrier({n} + 1)
results = [None] * {n}
def work(i):
    together.wait()
    results[i] = sum(range(i * 100000))
threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range({n})]
for t in threads:
    t.start()
print(threading.active_count(), flush=True)
together.wait()
for t in threads:
    t.join()
print(results == [sum(range(i * 100000)) for i in range({n})])
"""
# Every process forks for as long as it lives, and shrugs off the limit's EAGAIN.
FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def run_leaving_nothing(jobs, code: str, **fields: object):
    """The result of one cold run, once no process of the run's uid is left over."""
    spec = jobs.requests.parse(request_document(code, **fields))
    with Run(jobs.jail) as run:
        run.load(spec)
        run.start(spec.runtime, spec.limits.jail, int(spec.limits.time) + 2, spec.args)
        result = run.finish(spec)
        uid = run.lease.uid
        assert processes_running_as(range(uid, uid + 1)) == []
    return result


def test_threads_work_up_to_the_limit(run):
    result = run(THREADS.format(n=3), limits={"processes": 4})
    assert (result.stdout, result.status.value) == ("4\nTrue\n", "ok")


def test_one_thread_past_the_limit_cannot_start(run):
    result = run(THREADS.format(n=2), limits={"processes": 2})
    assert (result.returncode, result.status.value) == (1, "error")
    assert "RuntimeError: can't start new thread" in result.stdout


def test_a_subprocess_runs_when_the_limit_allows_it(run):
    code = "import subprocess; print(subprocess.run(['/usr/bin/echo', 'child']).returncode)"
    assert run(code, limits={"processes": 2}).stdout == "child\n0\n"


def test_the_default_is_one_process(run):
    result = run("import os; os.fork()")
    assert "BlockingIOError: [Errno 11]" in result.stdout


def test_a_fork_bomb_ends_at_the_time_limit_and_leaves_nothing(jobs):
    result = run_leaving_nothing(jobs, FORK_BOMB, limits={"processes": 16, "time": 2})
    assert (result.returncode, result.status.value, result.signal) == (137, "timeout", "SIGKILL")


def test_a_plain_fork_bomb_fails_at_the_limit_and_leaves_nothing(jobs):
    code = "import os\nwhile True:\n    os.fork()"
    result = run_leaving_nothing(jobs, code, limits={"processes": 16, "time": 10})
    assert (result.returncode, result.status.value) == (1, "error")
    assert "BlockingIOError: [Errno 11] Resource temporarily unavailable" in result.stdout


def test_threads_do_not_outlive_the_time_limit(jobs):
    code = (
        "import threading, time\n"
        "for _ in range(3):\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "print('started', flush=True)"
    )
    result = run_leaving_nothing(jobs, code, limits={"processes": 4, "time": 5})
    assert (result.stdout, result.status.value) == ("started\n", "timeout")


def test_children_end_with_the_job(jobs):
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\nprint('parent done')"
    result = run_leaving_nothing(jobs, code, limits={"processes": 2, "time": 10})
    assert (result.stdout, result.returncode, result.status.value) == ("parent done\n", 0, "ok")
    assert result.duration < 10  # the sleeping child did not hold the job


@pytest.mark.parametrize(
    "code,expected",
    [
        # A thread's exception is printed; the exit code stays the main thread's.
        (
            "import threading\nt = threading.Thread(target=lambda: 1 / 0)\nt.start(); t.join()",
            (0, "ok", None),
        ),
        (
            "import os, threading\nthreading.Thread(target=os._exit, args=(3,)).start()\n"
            "import time; time.sleep(5)",
            (3, "error", None),
        ),
        (
            "import ctypes, threading, time\n"
            "threading.Thread(target=ctypes.string_at, args=(0,)).start()\ntime.sleep(5)",
            (139, "signal", "SIGSEGV"),
        ),
    ],
    ids=["thread exception", "thread exits", "thread crashes the job"],
)
def test_verdicts_are_the_main_process(run, code, expected):
    result = run(code, limits={"processes": 2})
    assert (result.returncode, result.status.value, result.signal) == expected


def test_a_child_crash_is_its_parents_to_report(run):
    code = (
        "import os, ctypes\npid = os.fork()\nif pid == 0:\n    ctypes.string_at(0)\n"
        "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))"
    )
    result = run(code, limits={"processes": 2})
    assert (result.stdout, result.status.value) == ("-11\n", "ok")


def test_warm_jails_serve_only_the_default_limit(jobs, settings):
    def spec(processes: int):
        return jobs.requests.parse(request_document("pass", limits={"processes": processes}))

    assert jobs.pool.serves(spec(settings.process_limit))
    assert not jobs.pool.serves(spec(settings.process_limit + 1))


def test_numerical_libraries_start_no_thread_pools_unasked(run):
    code = "import os; print(os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])"
    assert run(code, limits={"processes": 3}).stdout == "1 1\n"


@pytest.mark.parametrize("value", [0, 17, 1.5, "2"])
def test_process_limits_outside_the_bounds_are_refused(run, value):
    with pytest.raises(RequestError, match="limits/processes"):
        run("pass", limits={"processes": value})
