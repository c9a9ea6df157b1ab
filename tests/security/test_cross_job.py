"""Jobs running at the same time cannot reach each other, nor the host's objects.

Job A creates something and waits; job B, started alongside, looks for it. Each job reports
when it acted, so the test knows B looked while A's object existed.
"""

import ctypes
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HOLD_SECONDS = 1.5
CLOCK = "import time\ndef now():\n    return repr(time.time())\n"


def side_by_side(run, code_a: str, code_b: str):
    """Run A, then B 0.5 s later, concurrently; both results."""
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(run, code_a, limits={"time": HOLD_SECONDS + 3})
        b = pool.submit(run, "import time; time.sleep(0.5)\n" + code_b)
        return a.result(), b.result()


def lines(result) -> dict[str, str]:
    """`key value` lines of a job's output as a dict."""
    assert result.returncode == 0, result.stdout
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def assert_looked_while_it_existed(a: dict, b: dict):
    assert float(a["created"]) < float(b["looked"]) < float(a["released"])


def test_abstract_unix_sockets_are_per_job(run):
    name = f"\0snekbox-{uuid.uuid4().hex}"
    a, b = side_by_side(
        run,
        CLOCK
        + f"""
import socket
s = socket.socket(socket.AF_UNIX)
s.bind({name!r})
s.listen()
s.settimeout({HOLD_SECONDS})
print("created", now(), flush=True)
try:
    s.accept()
    print("visitor yes")
except TimeoutError:
    print("visitor none")
print("released", now())
""",
        CLOCK
        + f"""
import socket
c = socket.socket(socket.AF_UNIX)
try:
    c.connect({name!r})
    print("connect yes")
except OSError as e:
    print("connect", type(e).__name__)
print("looked", now())
mine = socket.socket(socket.AF_UNIX)
mine.bind({name!r})  # the same name is free in this job's own network namespace
print("bind yes")
""",
    )
    a, b = lines(a), lines(b)
    assert_looked_while_it_existed(a, b)
    assert (a["visitor"], b["connect"], b["bind"]) == ("none", "ConnectionRefusedError", "yes")


def test_host_abstract_sockets_are_unreachable(run):
    name = f"\0snekbox-host-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(name)
        listener.listen()
        result = run(f"""
import socket
try:
    socket.socket(socket.AF_UNIX).connect({name!r})
    print("reached the host")
except OSError as e:
    print(type(e).__name__)
""")
    assert result.stdout == "ConnectionRefusedError\n"


def test_files_of_another_job_are_invisible(run):
    token = uuid.uuid4().hex
    a, b = side_by_side(
        run,
        CLOCK
        + f"""
import time
open("secret-{token}", "w").write("{token}")
print("created", now(), flush=True)
time.sleep({HOLD_SECONDS})
print("released", now())
""",
        CLOCK
        + f"""
import os
hits = []
for top in ("/home", "/tmp", "/dev", "/etc", "/"):
    for root, dirs, files in os.walk(top):
        if root == "/":
            dirs[:] = [d for d in dirs if d in ("home", "tmp", "dev", "etc")]
        hits += [os.path.join(root, f) for f in files if "{token}" in f]
print("looked", now())
print("hits", len(hits))
print("home", os.listdir("/home"))
""",
    )
    a, b = lines(a), lines(b)
    assert_looked_while_it_existed(a, b)
    assert (b["hits"], b["home"]) == ("0", "[]")


def test_signals_cannot_reach_another_job_or_the_host(run):
    host_pids = [os.getpid(), os.getppid(), 1]
    a, b = side_by_side(
        run,
        CLOCK
        + f"""
import time
print("created", now(), flush=True)
time.sleep({HOLD_SECONDS})
print("released", now())
""",
        CLOCK
        + f"""
import os, signal
print("looked", now())
me = os.getpid()
hit = []
for pid in list(range(2, 5000)) + {host_pids!r}:
    if pid == me:
        continue
    try:
        os.kill(pid, signal.SIGKILL)
        hit.append(pid)
    except ProcessLookupError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
    print("everyone yes")
except ProcessLookupError:
    print("everyone none")
print("pid", me)
print("hit", hit)
""",
    )
    a, b = lines(a), lines(b)
    assert_looked_while_it_existed(a, b)
    assert (b["pid"], b["hit"], b["everyone"]) == ("1", "[]", "none")


def test_no_shared_memory_directory(run):
    code = """
from multiprocessing import shared_memory
try:
    shared_memory.SharedMemory(name="snekbox", create=True, size=4096)
    print("created")
except OSError as e:
    print(type(e).__name__)
import os
print(os.path.exists("/dev/shm"))
"""
    assert run(code).stdout == "FileNotFoundError\nFalse\n"


SYSV = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
"""


@pytest.fixture
def host_shared_memory():
    """A SysV shared memory segment in the host's IPC namespace, removed afterwards."""
    libc = ctypes.CDLL(None, use_errno=True)
    key = int.from_bytes(os.urandom(3), "big") + 1
    segment = libc.shmget(key, 4096, 0o1000 | 0o666)
    assert segment >= 0
    yield key
    libc.shmctl(segment, 0, None)  # IPC_RMID


def test_host_sysv_ipc_is_out_of_reach(run, host_shared_memory):
    """System V IPC is not on the seccomp allowlist (ENOSYS); the job's IPC namespace of its
    own would hide the host's objects even if it were."""
    result = run(SYSV + f"print(libc.shmget({host_shared_memory}, 0, 0), ctypes.get_errno())")
    assert result.stdout == "-1 38\n"


def test_one_job_cannot_use_up_the_pipe_allowance_of_another(run):
    """The kernel caps pipe buffer pages per user (fs.pipe-user-pages-soft, 16384 pages by
    default); past the cap, a user's new pipes get two pages instead of sixteen. A takes its
    user's whole allowance; B's pipes must not shrink, so B must not be A's host user."""
    allowance = int(Path("/proc/sys/fs/pipe-user-pages-soft").read_text())
    assert allowance == 16384, "the test sizes its pipes for the default allowance"
    a, b = side_by_side(
        run,
        CLOCK
        + f"""
import fcntl, os, time
taken = 0
for _ in range(100):
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)  # 256 pages each
    except PermissionError:
        break  # the allowance is used up
    taken += 256
print("created", now(), flush=True)
print("taken", taken)
time.sleep({HOLD_SECONDS})
print("released", now())
""",
        CLOCK
        + """
import fcntl, os
r, w = os.pipe()
print("looked", now())
print("size", fcntl.fcntl(w, fcntl.F_GETPIPE_SZ))
""",
    )
    a, b = lines(a), lines(b)
    assert_looked_while_it_existed(a, b)
    assert int(a["taken"]) >= allowance - 256
    assert b["size"] == "65536"
