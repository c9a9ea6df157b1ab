"""Time, memory, process and output limits, enforced on real jobs."""

import time

import pytest

from snekbox.jobs import RequestError

MB = 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("code", ["while True: pass", "import time; time.sleep(60)"])
def test_default_time_limit_stops_job_at_five_seconds(run, code):
    start = time.monotonic()
    result = run(code)
    elapsed = time.monotonic() - start
    assert (result.returncode, result.status.value, result.signal) == (137, "timeout", "SIGKILL")
    assert 4.9 < elapsed < 6.5


def test_time_limit_does_not_wait_for_closed_output(run):
    result = run("import os, time; os.close(1); os.close(2); time.sleep(60)", limits={"time": 1})
    assert (result.returncode, result.status.value) == (137, "timeout")


def test_memory_bomb_is_stopped(run):
    result = run("x = bytearray(200 * 1024 * 1024); print('survived')")
    assert (result.returncode, result.status.value, result.signal) == (137, "oom", "SIGKILL")
    assert "survived" not in result.stdout


def test_default_memory_limit_is_52428800_bytes(run):
    fits = run(f"x = bytearray({30 * MB}); x[::4096] = b'1' * len(x[::4096]); print('ok')")
    assert fits.stdout == "ok\n"
    over = run(f"x = bytearray({52428800}); x[::4096] = b'1' * len(x[::4096]); print('ok')")
    assert over.status.value == "oom"


def test_tmpfs_is_size_capped(run, settings):
    code = f"""
import errno
try:
    with open('big', 'wb') as f:
        for _ in range({settings.tmpfs_size // MB + 2}):
            f.write(b'x' * {MB})
    print('wrote all')
except OSError as e:
    print(errno.errorcode[e.errno])
"""
    result = run(code, limits={"memory": 256 * MB})
    assert result.stdout in ("ENOSPC\n", "EFBIG\n")


def test_segfault_is_139(run):
    result = run("import ctypes; ctypes.string_at(0)")
    assert (result.returncode, result.status.value, result.signal) == (139, "signal", "SIGSEGV")


def test_exit_code_is_the_jobs_own(run):
    result = run("import sys; sys.exit(3)")
    assert (result.returncode, result.status.value, result.signal) == (3, "error", None)


def test_output_flood_is_stopped_at_the_cap_not_the_time_limit(run, settings):
    result = run("while True: print('x' * 1000)")
    assert (result.returncode, result.status.value) == (143, "output_limit")
    assert result.signal == "SIGTERM"
    assert result.truncated
    assert len(result.stdout) == settings.output_limit


def test_output_flood_without_newlines_is_capped(run):
    result = run("import sys\nwhile True: sys.stdout.write('y' * 4096)", limits={"output": 5000})
    assert result.stdout == "y" * 5000
    assert result.status.value == "output_limit"


def test_stdout_and_stderr_are_merged_in_order(run):
    code = """
import sys
for i in range(5):
    print(f"out{i}", flush=True)
    print(f"err{i}", file=sys.stderr, flush=True)
"""
    expected = "".join(f"out{i}\nerr{i}\n" for i in range(5))
    assert run(code).stdout == expected


def test_output_that_is_not_utf8_does_not_fail(run):
    result = run("import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end')")
    assert result.returncode == 0
    assert result.stdout == "ok \ufffd\ufffd end"


def test_per_run_cgroups_allow_three_33mb_jobs_at_once(run):
    from concurrent.futures import ThreadPoolExecutor

    code = (
        "import time; x = bytearray(33 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); "
        "time.sleep(1); print('done')"
    )
    with ThreadPoolExecutor(3) as pool:
        # A generous time limit: the point is memory, and emulated (cgroup2-check) is slow.
        results = list(pool.map(lambda _: run(code, limits={"time": 20}), range(3)))
    assert [(r.stdout, r.status.value) for r in results] == [("done\n", "ok")] * 3


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 0])
@pytest.mark.parametrize("name", ["time", "memory", "output"])
def test_limits_that_are_not_positive_numbers_are_refused(run, name, value):
    with pytest.raises(RequestError, match=f"limits.{name}"):
        run("pass", limits={name: value})
