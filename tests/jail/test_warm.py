"""Warm jails run a job exactly as a cold jail does, each in a jail of its own.

Every case runs twice, in a cold jail and in a warm one whose interpreter was started
before the job existed, and the two results must be the same.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import time

import pytest

from snekbox.filesystem import InputFile
from snekbox.jail import bootstrap, run_safely
from snekbox.jail.warm import HandoverError, WarmJail
from tests.conftest import request_document

MB = 1024 * 1024
MAIN = b"""\
import sys
from lib import util
print(__name__, __file__, __cached__, type(__loader__).__name__, __loader__.path)
print(sys.argv, sys.orig_argv[1:], util.answer())
open("out.txt", "w").write("written")
raise SystemExit(util.answer() - 40)
"""

CASES = {
    "hello": {"input": "print('hello world')"},
    "traceback": {"input": "def f():\n    raise ValueError('bad')\n\nf()"},
    "chained traceback": {
        "input": "try:\n    1 / 0\nexcept Exception as e:\n    raise RuntimeError('wrapped') from e"
    },
    "syntax error": {"input": "print('unclosed'"},
    "exit code": {"input": "import sys; sys.exit(3)"},
    "exit message": {"input": "import sys; sys.exit('bye')"},
    "keyboard interrupt": {"input": "raise KeyboardInterrupt"},
    "argv": {"args": ["-c", "import sys; print(sys.argv, sys.orig_argv[1:])", "a", "b"]},
    "main module": {
        "input": "print(sorted(globals()), __name__, __spec__, __package__, "
        "__loader__.__name__, __doc__)"
    },
    "no extra modules": {"input": "import sys; print(sorted(sys.modules))"},
    "stdin": {
        "input": "import sys; print(sys.stdin.seekable(), repr(sys.stdin.read()))",
        "stdin": b"line 1\nline 2\n",
    },
    "empty stdin": {"input": "import sys; print(repr(sys.stdin.read()))"},
    "script with files and exit code": {
        "args": ["main.py", "x"],
        "files": {"main.py": MAIN, "lib/util.py": b"def answer():\n    return 42\n"},
    },
    "module imported from files": {
        "input": "import mod; print(mod.x)",
        "files": {"mod.py": b"x = 'from /home'"},
    },
    "script syntax error": {"args": ["bad.py"], "files": {"bad.py": b"x = (\n"}},
    "script encoding": {
        "args": ["latin.py"],
        "files": {"latin.py": "# -*- coding: latin-1 -*-\nprint('\xe9')\n".encode("latin-1")},
    },
    "atexit and warnings": {
        "input": "import atexit, warnings\natexit.register(print, 'bye')\n"
        "warnings.warn('careful')\nprint('hi')"
    },
    "stack": {
        "input": "import traceback\ndef f():\n    traceback.print_exc()\n"
        "try:\n    1 / 0\nexcept Exception:\n    f()"
    },
    "output limit": {"input": "while True: print('x' * 1000)", "limits": {"output": 5000}},
    "memory limit": {"input": "x = bytearray(200 * 1024 * 1024); print('survived')"},
    "undecodable output": {"input": "import sys; sys.stdout.buffer.write(b'ok \\xff end')"},
    "uid and isolation": {
        "input": "import os, sys; print(os.getuid(), sys.flags.isolated, "
        "sorted(os.environ), os.listdir('/home'))"
    },
}


def spec_of(jobs, fields: dict):
    fields = dict(fields)
    args = fields.pop("args", None) or ["-c", fields.pop("input")]
    return jobs.requests.parse(request_document(args=args, **fields))


def warm_jail(jobs) -> WarmJail:
    return WarmJail(
        jobs.jail,
        jobs.runtimes["default"],
        jobs.pool.limits,
        jobs.settings.max_time_limit,
    )


def outcome(result) -> tuple:
    return (result.stdout, result.returncode, result.status, result.truncated, result.files)


@pytest.mark.parametrize("fields", CASES.values(), ids=CASES.keys())
def test_warm_jail_runs_a_job_as_a_cold_one_does(jobs, fields):
    spec = spec_of(jobs, fields)
    assert jobs.pool.serves(spec)
    warm = warm_jail(jobs)
    cold = run_safely(jobs.jail, spec)
    assert outcome(run_safely(warm, spec)) == outcome(cold)


def test_tracebacks_show_the_jobs_frames_only(jobs):
    spec = spec_of(jobs, CASES["traceback"])
    assert run_safely(warm_jail(jobs), spec).stdout == (
        "Traceback (most recent call last):\n"
        '  File "<string>", line 4, in <module>\n'
        '  File "<string>", line 2, in f\n'
        "ValueError: bad\n"
    )


def test_time_limit_counts_from_hand_over(jobs):
    warm = warm_jail(jobs)
    time.sleep(1.5)
    spec = spec_of(
        jobs, {"args": ["-c", "import time; time.sleep(0.5); print('done')"], "limits": {"time": 1}}
    )
    result = run_safely(warm, spec)
    assert (result.stdout, result.status.value) == ("done\n", "ok")


def test_time_limit_stops_a_warm_job(jobs):
    spec = spec_of(jobs, {"args": ["-c", "import time; time.sleep(30)"], "limits": {"time": 1}})
    result = run_safely(warm_jail(jobs), spec)
    assert (result.returncode, result.status.value, result.signal) == (137, "timeout", "SIGKILL")


def test_a_jail_that_ended_before_hand_over_is_not_used(jobs):
    warm = warm_jail(jobs)
    warm.proc.terminate()
    warm.proc.wait()
    with pytest.raises(HandoverError):
        warm.run(spec_of(jobs, CASES["hello"]))


def test_an_unused_warm_jail_ends_when_closed(jobs):
    warm = warm_jail(jobs)
    warm.close()
    assert warm.proc.returncode is not None


def test_pool_gives_every_job_a_fresh_interpreter_and_home(jobs):
    code = (
        "import builtins, os\nprint(hasattr(builtins, 'mark'), os.listdir('.'))\n"
        "builtins.mark = 1\nopen('mark', 'w').write('x')"
    )
    spec = spec_of(jobs, {"args": ["-c", code]})
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 4 and time.monotonic() < deadline:
        result = jobs.pool.run(spec)
        if result is None:
            time.sleep(0.05)
        else:
            seen.append(result.stdout)
    assert seen == ["False []\n"] * 4


@pytest.mark.parametrize(
    "args,files,served",
    [
        (("-c", "pass"), {}, True),
        (("-c", "pass", "more", "args"), {}, True),
        (("main.py", "arg"), {"main.py": b"pass"}, True),
        (("./main.py",), {"./main.py": b"pass"}, True),
        (("-c",), {}, False),
        (("-u", "-c", "pass"), {}, False),
        (("-m", "mod"), {"mod.py": b"pass"}, False),
        (("-",), {}, False),
        (("main.py",), {}, False),
        (("main",), {"main": b"pass"}, False),
        (("app.py",), {"app.py": b"PK\x05\x06" + bytes(18)}, False),
        (("c.py",), {"c.py": importlib.util.MAGIC_NUMBER + bytes(12)}, False),
    ],
)
def test_bootstrap_serves_only_what_it_runs_exactly(args, files, served):
    inputs = tuple(InputFile(path, content) for path, content in files.items())
    assert bootstrap.serves(args, inputs) is served


def test_pool_serves_only_the_default_runtime_and_memory(jobs):
    default = spec_of(jobs, CASES["hello"])
    assert jobs.pool.serves(default)
    more_memory = spec_of(jobs, {**CASES["hello"], "limits": {"memory": 64 * MB}})
    assert not jobs.pool.serves(more_memory)


def test_pool_is_topped_up_while_long_jobs_hold_its_jails(jobs):
    """Jails taken by jobs that run on are replaced after REPLACE_AFTER, not when something
    else happens to wake the pool up (at the latest when a waiting jail expires, 60 s)."""
    pool = jobs.pool

    def wait_until_full(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while len(pool._ready) < pool.size:
            assert time.monotonic() < deadline, f"{len(pool._ready)} of {pool.size} ready"
            time.sleep(0.05)

    wait_until_full(30)
    spec = spec_of(jobs, {"args": ["-c", "import time; time.sleep(8)"], "limits": {"time": 15}})
    with concurrent.futures.ThreadPoolExecutor(pool.size) as executor:
        long_jobs = [executor.submit(pool.run, spec) for _ in range(pool.size)]
        deadline = time.monotonic() + 10
        while len(pool._running) < pool.size and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(pool._running) == pool.size, "the long jobs did not all take a warm jail"
        wait_until_full(5)
        results = [job.result() for job in long_jobs]
    assert [(r.returncode, r.status.value) for r in results if r] == [(0, "ok")] * pool.size
