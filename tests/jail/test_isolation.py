"""The jail's walls, each tried from inside a real job."""

import os

import pytest

from tests.conftest import SECRET_VARIABLE


def test_hello_world(run):
    result = run("print('hello world')")
    assert (result.stdout, result.returncode, result.status.value) == ("hello world\n", 0, "ok")


def test_output_keeps_the_order_of_a_terminal(run):
    result = run("print('before'); 1 / 0")
    assert result.stdout.startswith("before\nTraceback")


def test_runs_as_nobody_in_isolated_mode(run):
    result = run(
        "import os, sys; print(os.getuid(), os.getgid(), os.geteuid(), sys.flags.isolated)"
    )
    assert result.stdout == "65534 65534 65534 1\n"


def test_cannot_become_root(run):
    code = """
import os
for attempt in (lambda: os.setuid(0), lambda: os.setgid(0), lambda: os.setresuid(0, 0, 0)):
    try:
        attempt()
        print("became root")
    except OSError as e:
        print(e.errno in (1, 22))  # EPERM, or EINVAL: root is not even mapped
print(os.getuid())
"""
    assert run(code).stdout == "True\nTrue\nTrue\n65534\n"


def test_environment_is_empty_but_for_python_needs(run, jobs):
    result = run("import os; print(sorted(os.environ))")
    expected = sorted(
        [
            "HOME",
            "LANG",
            "MPLBACKEND",
            "PATH",
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            *jobs.runtimes["default"].jail_environment,
        ]
    )
    assert result.stdout == f"{expected}\n"
    assert SECRET_VARIABLE not in result.stdout


def test_no_procfs(run):
    result = run("import os; print(os.path.exists('/proc'), os.path.exists('/proc/self'))")
    assert result.stdout == "False False\n"


def test_only_needed_system_paths_are_mounted(run):
    result = run("import os; print(sorted(os.listdir('/')))")
    assert result.stdout == "['dev', 'etc', 'home', 'lib', 'lib64', 'snekbin', 'tmp', 'usr']\n"
    assert run("import os; print(sorted(os.listdir('/etc')))").stdout == "['ld.so.cache']\n"
    assert run("import os; print(sorted(os.listdir('/dev')))").stdout == "['null', 'urandom']\n"


@pytest.mark.parametrize(
    "path",
    [
        "/usr/evil",
        "/lib/evil",
        "/etc/evil",
        "/snekbin/python/evil",
        "/tmp/evil",
        "/evil",
        "/usr/bin/python3",
    ],
)
def test_writes_outside_home_fail(run, path):
    code = f"""
import errno
try:
    open({path!r}, "w").write("x")
    print("written")
except OSError as e:
    print(errno.errorcode[e.errno])
"""
    assert run(code).stdout in ("EROFS\n", "EACCES\n")


def test_home_is_writable(run):
    result = run("import os; open('f', 'w').write('x'); print(os.getcwd(), os.listdir('.'))")
    assert result.stdout == "/home ['f']\n"


@pytest.mark.parametrize(
    "address",
    [("127.0.0.1", 8060), ("127.0.0.1", 80), ("::1", 8060), ("10.0.0.1", 80), ("1.1.1.1", 53)],
)
def test_network_unreachable(run, address):
    code = f"""
import socket, errno
try:
    socket.create_connection({address!r}, timeout=2)
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e))
"""
    assert run(code).stdout in ("ENETUNREACH\n", "EADDRNOTAVAIL\n")


def test_loopback_is_down(run):
    down = run("""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 0)); s.sendto(b"x", ("127.0.0.1", 9)); print("sent")
except OSError as e:
    print(e.errno)
""")
    assert down.stdout != "sent\n"


@pytest.mark.parametrize(
    "code",
    [
        "import os; os.fork()",
        "import subprocess; subprocess.run(['/usr/bin/true'])",
        "import threading; threading.Thread(target=print).start()",
    ],
)
def test_no_new_processes_or_threads(run, code):
    result = run(code)
    assert result.returncode == 1
    assert (
        "BlockingIOError: [Errno 11]" in result.stdout or "can't start new thread" in result.stdout
    )


def test_no_state_carried_between_runs(run):
    first = run("open('marker', 'w').write('x'); import os; print(os.listdir('.'))")
    assert first.stdout == "['marker']\n"
    second = run("import os; print(os.listdir('.'))")
    assert second.stdout == "[]\n"


def test_host_interpreters_site_packages_are_out_of_sight(run):
    result = run("import sys; print([p for p in sys.path if 'site-packages' in p]); import pip")
    assert result.stdout.startswith("['/snekbin/python/default/lib/python")
    assert ".base" not in result.stdout.splitlines()[0]
    assert "ModuleNotFoundError: No module named 'pip'" in result.stdout


def test_interpreter_is_this_services(run):
    import sys

    result = run("import sys; print(sys.version)")
    assert result.stdout == sys.version + "\n"


def test_the_hosts_device_nodes_cannot_be_changed(run):
    """Writing to a device needs no writable mount; changing the node itself would."""
    before = os.stat("/dev/null").st_mtime_ns
    code = (
        "import os\n"
        "print(open('/dev/null', 'w').write('discarded'), open('/dev/null', 'rb').read())\n"
        "for path in ('/dev/null', '/dev/urandom'):\n"
        "    try:\n"
        "        os.utime(path)\n"
        "    except OSError as e:\n"
        "        print(path, e.errno)\n"
    )
    assert run(code).stdout == "9 b''\n/dev/null 30\n/dev/urandom 30\n"  # EROFS
    assert os.stat("/dev/null").st_mtime_ns == before
