"""Walls around one job: devices, sysfs, rlimits, descriptors, the host's files, the clock."""

import os
import time
import uuid

import pytest

from tests.conftest import ROOT, SECRET_VALUE
from tests.helpers import processes_mentioning


def test_only_null_and_urandom_devices(run):
    code = """
import errno, os
print(sorted(os.listdir("/dev")))
print([name for name in ("mem", "kmem", "port", "kmsg", "console", "tty", "ptmx", "sda", "vda",
                         "fuse", "net/tun", "kvm", "zero", "random", "shm", "mqueue", "pts",
                         "fd", "log") if os.path.lexists("/dev/" + name)])
with open("/dev/null", "w") as f:
    f.write("discarded")
print(len(open("/dev/urandom", "rb").read(16)))
try:
    open("/dev/new", "wb")
    print("created")
except OSError as e:
    print(errno.errorcode[e.errno])
"""
    assert run(code).stdout in (
        "['null', 'urandom']\n[]\n16\nEROFS\n",
        "['null', 'urandom']\n[]\n16\nEACCES\n",
    )


def test_no_sysfs_and_none_to_be_had(run):
    code = """
import errno, os
print(os.path.exists("/sys"), os.path.exists("/sys/fs/cgroup"))
for attempt in (lambda: os.mkdir("/sys"), lambda: os.makedirs("/home/sys/kernel")):
    try:
        attempt()
        print("made")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""
    assert run(code).stdout in ("False False\nEROFS\nmade\n", "False False\nEACCES\nmade\n")


@pytest.mark.parametrize(
    "kind,major,minor",
    [("S_IFCHR", 1, 1), ("S_IFCHR", 1, 11), ("S_IFBLK", 8, 0), ("S_IFCHR", 10, 200)],
)
def test_mknod_of_a_device_fails(run, kind, major, minor):
    code = f"""
import os, stat
try:
    os.mknod("dev", stat.{kind} | 0o666, os.makedev({major}, {minor}))
    print("made")
except PermissionError:
    print("EPERM")
"""
    result = run(code)
    assert result.stdout == "EPERM\n"
    assert result.files == ()


def test_rlimits_cannot_be_raised(run):
    code = """
import resource
for name in ("RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_STACK"):
    limit = getattr(resource, name)
    soft, hard = resource.getrlimit(limit)
    for setter in (resource.setrlimit, lambda r, v: resource.prlimit(0, r, v)):
        try:
            setter(limit, (hard + 1, hard + 1))
            print(name, "raised")
        except (ValueError, PermissionError):
            print(name, "refused")
    print(name, resource.getrlimit(limit) == (soft, hard))
"""
    result = run(code)
    assert result.returncode == 0, result.stdout
    assert "raised" not in result.stdout
    assert result.stdout.count("refused") == 8
    assert result.stdout.count("True") == 4


def test_rlimits_hold(run):
    code = """
import errno
files = []
try:
    while True:
        files.append(open("/dev/null"))
except OSError as e:
    print(errno.errorcode[e.errno], len(files) < 256)
del files
with open("sparse", "wb", buffering=0) as f:
    f.seek(64 * 1024 * 1024)  # rlimit_fsize is 64 MiB: one byte beyond it is refused
    try:
        f.write(b"x")
        print("wrote")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""
    result = run(code)
    assert result.stdout == "EMFILE True\nEFBIG\n"


def test_nothing_of_a_job_outlives_its_time_limit(run):
    token = uuid.uuid4().hex
    code = f"""# {token}
import os, signal, threading, time
for number in signal.valid_signals():
    try:
        signal.signal(number, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
for start in (lambda: threading.Thread(target=time.sleep, args=(60,), daemon=True).start(),
              os.fork):
    try:
        start()
        print("started", flush=True)
    except (RuntimeError, OSError) as e:
        print("refused", flush=True)
while True:
    pass
"""
    start = time.monotonic()
    result = run(code, limits={"time": 1})
    assert time.monotonic() - start < 3
    assert (result.returncode, result.status.value) == (137, "timeout")
    assert result.stdout == "refused\nrefused\n"
    assert processes_mentioning(token) == []


def test_no_descriptor_of_the_server_reaches_the_job(run):
    code = """
import os
open_fds = []
for fd in range(1024):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
print(open_fds)
"""
    assert run(code).stdout == "[0, 1, 2]\n"


def test_servers_files_are_invisible(run, settings):
    paths = [
        str(ROOT),
        str(ROOT / "config" / "snekbox.toml"),
        "/root",
        "/proc",
        "/sys",
        "/run",
        settings.work_dir,
        "/var",
        "/etc/passwd",
        "/etc/shadow",
        "/etc/hostname",
        "/etc/resolv.conf",
        "/boot",
        "/srv",
        "/opt",
        "/mnt",
    ]
    code = f"""
import os
print([p for p in {paths!r} if os.path.lexists(p)])
"""
    assert run(code).stdout == "[]\n"


def test_servers_secret_is_nowhere_in_the_jail(run):
    # The secret is in the environment of the server the HTTP tests start; for in-process jobs
    # it is put in this process's environment here. Neither may show up in the jail.
    os.environ["SNEKBOX_TEST_SECRET_IN_PROCESS"] = SECRET_VALUE
    try:
        code = f"""
import os
hits = []
for top in ("/home", "/tmp", "/dev", "/etc", "/snekbin"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".base"]
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    if {SECRET_VALUE.encode()!r} in f.read(1 << 20):
                        hits.append(name)
            except OSError:
                pass
print(hits, {SECRET_VALUE!r} in repr(dict(os.environ)))
"""
        assert run(code).stdout == "[] False\n"
    finally:
        del os.environ["SNEKBOX_TEST_SECRET_IN_PROCESS"]
