"""The seccomp policy of config/snekbox.cfg, tried from inside real jobs.

Each forbidden system call is made directly (ctypes, x86_64 numbers) with arguments that
would be harmless if it were allowed; the job must die of SIGSYS before it can print again.
"""

import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# x86_64 numbers and arguments. Without the policy each of these returns (mostly an error)
# and the job goes on to print "survived".
KILLED = {
    "ptrace": (101, "0, 0, 0, 0"),  # PTRACE_TRACEME
    "process_vm_readv": (310, "1, 0, 0, 0, 0, 0"),
    "process_vm_writev": (311, "1, 0, 0, 0, 0, 0"),
    "kcmp": (312, "1, 1, 0, 0, 0"),
    "pidfd_getfd": (438, "0, 0, 0"),
    "mount": (165, "b'none', b'/home', b'tmpfs', 0, 0"),
    "umount2": (166, "b'/home', 2"),
    "pivot_root": (155, "b'/home', b'/home'"),
    "open_tree": (428, "-100, b'/home', 1"),
    "fsopen": (430, "b'tmpfs', 0"),
    "move_mount": (429, "-100, b'/home', -100, b'/tmp', 0"),
    "open_by_handle_at": (304, "-100, 0, 0"),
    "unshare": (272, "0x10000000"),  # CLONE_NEWUSER
    "setns": (308, "0, 0"),
    "bpf": (321, "0, 0, 0"),
    "perf_event_open": (298, "0, 0, -1, -1, 0"),
    "userfaultfd": (323, "0"),
    "keyctl": (250, "0, 0"),
    "add_key": (248, "b'user', b'k', b'v', 1, -2"),
    "request_key": (249, "b'user', b'k', 0, 0"),
    "kexec_load": (246, "0, 0, 0, 0"),
    "kexec_file_load": (320, "-1, -1, 0, 0, 0"),
    "init_module": (175, "0, 0, b''"),
    "finit_module": (313, "-1, b'', 0"),
    "delete_module": (176, "b'snekbox', 0"),
    "modify_ldt": (154, "0, 0, 0"),  # read: returns 0 where allowed
    "personality": (135, "0x0040000"),  # ADDR_NO_RANDOMIZE
    "ioctl TIOCSTI": (16, "0, 0x5412, b'x'"),
    "ioctl TIOCSTI in the low word": (16, "0, 0x100005412, b'x'"),
    "reboot": (169, "0, 0, 0, 0"),
    "swapon": (167, "b'/home/swap', 0"),
    "acct": (163, "0"),
    "syslog": (103, "3, 0, 0"),
    "iopl": (172, "3"),
    "ioperm": (173, "0, 1, 1"),
}

NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
SIGCHLD = 17


def syscall_job(number: int, args: str) -> str:
    return (
        f"import ctypes\n"
        f"libc = ctypes.CDLL(None, use_errno=True)\n"
        f"libc.syscall.restype = ctypes.c_long\n"
        f"result = libc.syscall(ctypes.c_long({number}), {args})\n"
        f"print('survived', result, ctypes.get_errno(), flush=True)\n"
    )


def assert_killed_by_seccomp(result):
    assert (result.returncode, result.status.value, result.signal) == (159, "signal", "SIGSYS")
    assert "survived" not in result.stdout


@pytest.mark.parametrize("name", KILLED)
def test_forbidden_syscall_kills_the_job(run, name):
    number, args = KILLED[name]
    assert_killed_by_seccomp(run(syscall_job(number, args)))


@pytest.mark.parametrize("flag", NAMESPACE_FLAGS)
def test_clone_into_a_new_namespace_kills_the_job(run, flag):
    flags = NAMESPACE_FLAGS[flag] | SIGCHLD
    assert_killed_by_seccomp(run(syscall_job(56, f"{flags:#x}, 0, 0, 0, 0")))


def test_plain_clone_is_allowed_and_fails_on_the_pids_limit(run):
    result = run(syscall_job(56, f"{SIGCHLD}, 0, 0, 0, 0"))
    assert result.stdout == "survived -1 11\n"  # EAGAIN from the pids cgroup, not SIGSYS


def test_threads_are_allowed_when_the_process_limit_allows_them(run):
    """glibc's pthread_create tries clone3 (ENOSYS here), then clone with CLONE_THREAD."""
    code = (
        "import threading\nt = threading.Thread(target=print, args=('thread',))\n"
        "t.start(); t.join()"
    )
    assert run(code, limits={"processes": 2}).stdout == "thread\n"


def test_reading_the_personality_is_allowed(run):
    result = run(syscall_job(135, "0xffffffff"))
    assert result.stdout == "survived 0 0\n"


def test_ordinary_ioctl_is_allowed(run):
    code = (
        "import fcntl, termios, array\nbuf = array.array('i', [0])\n"
        "fcntl.ioctl(0, termios.FIONREAD, buf)\nprint('survived', buf[0])"
    )
    result = run(code, stdin=b"abc")
    assert result.stdout == "survived 3\n"


# Calls outside the allowlist answer ENOSYS, as on a kernel without them. Without the policy
# each of these returns something else with all-zero arguments: a descriptor
# (inotify_init, inotify_init1), EINVAL, EFAULT or EPERM.
ENOSYS_CALLS = {
    "clone3": 435,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "io_setup": 206,
    "io_destroy": 207,
    "io_getevents": 208,
    "io_submit": 209,
    "io_cancel": 210,
    "io_pgetevents": 333,
    "inotify_init": 253,
    "inotify_init1": 294,
    "fanotify_init": 300,
    "mq_open": 240,
    "timer_create": 222,
    "chroot": 161,
    "shmget": 29,
    "msgget": 68,
    "semget": 64,
    "rt_sigqueueinfo": 129,
    "pidfd_open": 434,
    "capset": 126,
    "mlock": 149,
    "name_to_handle_at": 303,
    "a number no kernel has": 999,
    # The x32 ABI: x86_64 numbers with 0x40000000 added, for kernels that enable it.
    "x32 mount": 0x40000000 + 165,
    "x32 unshare": 0x40000000 + 272,
    "x32 ptrace": 0x40000000 + 521,
    "x32 clone": 0x40000000 + 56,
    "x32 io_setup": 0x40000000 + 543,
    "x32 prctl": 0x40000000 + 157,
    "x32 mmap": 0x40000000 + 9,
    "x32 getpid": 0x40000000 + 39,
}


@pytest.mark.parametrize("name,number", ENOSYS_CALLS.items())
def test_calls_outside_the_allowlist_answer_enosys(run, name, number):
    result = run(syscall_job(number, "0, 0, 0, 0, 0, 0"))
    assert (result.stdout, result.returncode) == ("survived -1 38\n", 0)


SIGNAL_QUEUEING = {
    "kill": "62, os.getpid(), 40",
    "tkill": "200, os.getpid(), 40",
    "tgkill": "234, os.getpid(), os.getpid(), 40",
    "fcntl F_SETSIG": "72, 0, 10, 40",
    # The kernel reads these arguments as 32-bit ints: high bits must not hide them.
    "kill, high bits set": "62, os.getpid(), ctypes.c_ulong((1 << 32) | 40)",
    "tgkill, high bits set": "234, os.getpid(), os.getpid(), ctypes.c_ulong((1 << 63) | 40)",
    "fcntl F_SETSIG, high bits set": "72, 0, ctypes.c_ulong((1 << 32) | 10), 40",
}


@pytest.mark.parametrize("name", SIGNAL_QUEUEING)
def test_queueing_realtime_signals_is_refused(run, name):
    """Without the policy each call succeeds (the signal is blocked, so it stays queued).
    rt_sigqueueinfo, rt_tgsigqueueinfo and pidfd_send_signal are not allowed at all."""
    code = (
        "import ctypes, os, signal\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, [40])\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "info = ctypes.create_string_buffer(128)\n"
        "ctypes.memmove(info, (40).to_bytes(4, 'little') + bytes(4)"
        " + (-1).to_bytes(4, 'little', signed=True), 12)\n"
        f"print(libc.syscall({SIGNAL_QUEUEING[name]}), ctypes.get_errno())\n"
    )
    result = run(code)
    assert (result.stdout, result.returncode) == ("-1 1\n", 0)


@pytest.mark.parametrize("option", ["1", "ctypes.c_ulong((1 << 32) | 1)"])
def test_a_job_cannot_clear_the_signal_it_gets_when_its_nsjail_dies(run, option):
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.syscall.restype = ctypes.c_long\n"
        f"print(libc.syscall(157, {option}, 0, 0, 0, 0), ctypes.get_errno())\n"  # SET_PDEATHSIG
        "signal = ctypes.c_int()\n"
        "libc.prctl(2, ctypes.byref(signal))\n"  # PR_GET_PDEATHSIG
        "print(signal.value)\n"
    )
    assert run(code).stdout == "-1 1\n9\n"


@pytest.fixture
def huge_pages_to_be_had():
    """Surplus huge pages the host would hand out on demand (0 by default), restored after."""
    setting = Path("/proc/sys/vm/nr_overcommit_hugepages")
    before = setting.read_text()
    setting.write_text("16")
    yield
    setting.write_text(before)


def test_huge_pages_are_refused_as_the_memory_cgroup_does_not_count_them(run, huge_pages_to_be_had):
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.mmap.restype = ctypes.c_void_p\n"
        "size = 2 << 20\n"
        "area = libc.mmap(None, size, 3, 0x22 | 0x40000, -1, 0)\n"  # MAP_HUGETLB
        "print('mmap', area != 2 ** 64 - 1 and 'mapped', ctypes.get_errno())\n"
        "print('memfd', libc.memfd_create(b'huge', 4), ctypes.get_errno())\n"
        "print('plain', libc.mmap(None, size, 3, 0x22, -1, 0) != 2 ** 64 - 1)\n"
    )
    result = run(code)
    assert result.stdout == "mmap False 12\nmemfd -1 12\nplain True\n"


def _dirty_bytes() -> int:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    return int(next(line for line in meminfo if line.startswith("Dirty:")).split()[1]) * 1024


WRITE_BACK = {
    "sync": "import os\nos.sync()\nprint('done')",
    "syncfs": "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "print('done', libc.syncfs(os.open('/usr', os.O_RDONLY)), ctypes.get_errno())",
}


@pytest.mark.parametrize("name", WRITE_BACK)
def test_a_job_cannot_make_the_host_write_back_its_filesystems(run, tmp_path, name):
    # 64 MiB that the host has not written yet (it waits 30 s before it does on its own).
    unwritten = tmp_path / "unwritten"
    try:
        with open(unwritten, "wb") as f:
            f.write(os.urandom(64 << 20))
        assert _dirty_bytes() >= 48 << 20
        assert run(WRITE_BACK[name]).stdout in ("done\n", "done 0 0\n")  # as if done
        assert _dirty_bytes() >= 48 << 20
    finally:
        unwritten.unlink()


def test_standard_signals_still_reach_the_job(run):
    code = (
        "import os, signal\n"
        "signal.signal(signal.SIGUSR1, lambda *_: print('got it'))\n"
        "os.kill(os.getpid(), signal.SIGUSR1)\n"
        "os.kill(os.getpid(), 0)\n"
    )
    assert run(code).stdout == "got it\n"


def test_a_job_cannot_use_up_roots_queued_signals(run):
    """RLIMIT_SIGPENDING counts the job's queued signals against root on the host too."""
    flood = (
        "import os, signal, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])\n"
        "refused = 0\n"
        "for _ in range(200000):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGRTMIN)\n"
        "    except PermissionError:\n"
        "        refused += 1\n"
        "print(refused, flush=True)\n"
        "time.sleep(2)\n"
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        job = pool.submit(run, flood)
        time.sleep(1.5)
        queued_here = queue_realtime_signal_to_self()
        assert job.result().stdout == "200000\n"
    assert queued_here


SIGQUEUE_FROM_THE_HOST = """
import ctypes, os, signal
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
info = ctypes.create_string_buffer(128)
ctypes.memmove(info, int(signal.SIGRTMIN).to_bytes(4, "little") + bytes(4)
               + (-1).to_bytes(4, "little", signed=True), 12)
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(129, os.getpid(), int(signal.SIGRTMIN), info), ctypes.get_errno())
"""


def queue_realtime_signal_to_self() -> bool:
    """Whether a root process on the host can still queue a real-time signal (sigqueue),
    tried in a process of its own: a queued signal no thread blocks would end this one."""
    done = subprocess.run(
        [sys.executable, "-c", SIGQUEUE_FROM_THE_HOST], capture_output=True, text=True, check=True
    )
    return done.stdout == "0 0\n"


def test_a_32bit_system_call_kills_the_job(run):
    # i386 getpid through int 0x80, from machine code: the policy allows only x86_64 calls.
    code = """
import ctypes, mmap
machine_code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20; int 0x80; ret
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(machine_code)
function = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
print("survived", function(), flush=True)
"""
    assert_killed_by_seccomp(run(code))


def test_violation_is_reported_over_http(client):
    body = client.eval(input=syscall_job(101, "0, 0, 0, 0"))
    assert (body["returncode"], body["status"], body["signal"]) == (159, "signal", "SIGSYS")
    assert body["stdout"] == ""


# Socket families a job may not create: AF_VSOCK has no network namespace and would reach
# the hypervisor and the host of a VM; the others are kernel surface no job needs. Each is
# created (or refused for want of a capability, not by EAFNOSUPPORT) without the policy.
FAMILIES = {
    "AF_VSOCK": "SOCK_STREAM",
    "AF_NETLINK": "SOCK_DGRAM",
    "AF_PACKET": "SOCK_DGRAM",
    "AF_ALG": "SOCK_SEQPACKET",
    "AF_KEY": "SOCK_RAW",
    "AF_TIPC": "SOCK_RDM",
}


@pytest.mark.parametrize("family", FAMILIES)
def test_sockets_of_other_families_cannot_be_created(run, family):
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.socket(socket.{family}, socket.{FAMILIES[family]})\n"
        "    print('created')\n"
        "except OSError as e:\n"
        "    print(e.errno)\n"
    )
    assert run(code).stdout == "97\n"  # EAFNOSUPPORT


def test_socketpair_is_for_unix_sockets_only(run):
    code = (
        "import socket\n"
        "socket.socketpair(socket.AF_UNIX).__len__()\n"
        "try:\n"
        "    socket.socketpair(socket.AF_INET)\n"
        "except OSError as e:\n"
        "    print(e.errno)\n"
    )
    assert run(code).stdout == "97\n"


# fcntl commands outside the allowlist: F_NOTIFY would signal the job each time another job
# or the host reads a file in a shared directory; F_SETOWN, F_SETOWN_EX and F_SETLEASE
# would have the kernel send it signals. Each returns 0 without the policy.
FCNTL_REFUSED = {  # name: (file, command, argument)
    "F_NOTIFY": ("/usr", "fcntl.F_NOTIFY", "fcntl.DN_ACCESS | fcntl.DN_MULTISHOT"),
    "F_NOTIFY, high bits set": ("/usr", "(1 << 32) | fcntl.F_NOTIFY", "fcntl.DN_ACCESS"),
    "F_SETOWN": ("/home/mine", "fcntl.F_SETOWN", "1"),
    "F_SETLEASE": ("/home/mine", "fcntl.F_SETLEASE", "fcntl.F_RDLCK"),
}


@pytest.mark.parametrize("name", FCNTL_REFUSED)
def test_fcntl_commands_that_send_signals_are_refused(run, name):
    path, command, argument = FCNTL_REFUSED[name]
    code = (
        "import ctypes, fcntl, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "open('/home/mine', 'w').close()\n"
        f"fd = os.open({path!r}, os.O_RDONLY)\n"
        f"print(libc.syscall(72, fd, ctypes.c_ulong({command}), ctypes.c_ulong({argument})),"
        " ctypes.get_errno())\n"
    )
    assert run(code).stdout == "-1 1\n"  # EPERM


def test_directory_notifications_do_not_reveal_what_others_read(run):
    """With F_NOTIFY a job got a signal whenever anyone read a file in the shared tree."""
    code = (
        "import fcntl, os\n"
        "fd = os.open('/usr/lib', os.O_RDONLY)\n"
        "try:\n"
        "    fcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_ACCESS | fcntl.DN_MULTISHOT)\n"
        "    print('watching')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    assert run(code).stdout == "refused\n"


def test_other_ioctl_requests_answer_not_a_terminal(run):
    code = (
        "import fcntl, array\n"
        "open('/home/f', 'w').close()\n"
        "flags = array.array('l', [0])\n"
        "try:\n"
        "    fcntl.ioctl(open('/home/f'), 0x80086601, flags)\n"  # FS_IOC_GETFLAGS
        "except OSError as e:\n"
        "    print(e.errno)\n"
    )
    assert run(code).stdout == "25\n"  # ENOTTY; tmpfs answers it without the policy


def test_prctl_allows_questions_and_a_thread_name_only(run):
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.prctl(15, b'worker', 0, 0, 0), libc.prctl(3, 0, 0, 0, 0))\n"
        "print(libc.prctl(4, 0, 0, 0, 0), ctypes.get_errno())\n"
    )  # PR_SET_DUMPABLE
    assert run(code).stdout == "0 1\n-1 1\n"
