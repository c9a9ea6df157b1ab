"""Spawning nsjail and reading its merged output within a deadline and a size cap."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import selectors
import signal
import subprocess
import threading
import time
import typing
from collections.abc import Callable

READ_SIZE = 65536
LOG_LIMIT = 1 << 20
STOP_GRACE = 5.0
# Seconds between looks at a watcher's cancel signal while a job runs quietly.
CANCEL_POLL = 0.1


class Stop(enum.Enum):
    """Why snekbox itself stopped a job before it ended on its own."""

    TIMEOUT = "timeout"
    OUTPUT = "output"


class Cancelled(Exception):
    """The run was cancelled by its watcher (its client went away): it has no result."""


@dataclasses.dataclass
class Watch:
    """Someone following a run as it goes: `sink` is given the job's output as it arrives
    (within the output limit), `started` is set once the job runs (its time counting), and
    setting `cancel` stops it within CANCEL_POLL seconds."""

    sink: Callable[[bytes], None] = lambda chunk: None
    started: threading.Event = dataclasses.field(default_factory=threading.Event)
    cancel: threading.Event = dataclasses.field(default_factory=threading.Event)


class Checker(typing.Protocol):
    """Checks on a job while it is supervised (snekbox.jail.priority.Demotion): check()
    every `interval` seconds while it runs, and before_stop() once if snekbox stops it."""

    interval: float

    def check(self) -> None: ...

    def before_stop(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What came out of one nsjail process."""

    output: bytes
    truncated: bool
    stopped: Stop | None
    exit_code: int
    log: str
    duration: float


def memfd(name: str) -> int:
    """An empty anonymous in-memory file (a run writes it with pwrite)."""
    return os.memfd_create(name, os.MFD_CLOEXEC)


def start(
    argv: list[str], stdin_fd: int, log_fd: int, pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen:
    """Start nsjail with its output (stdout and stderr merged) on a pipe to this process.

    In a session of its own: a signal meant for the service's process group (Ctrl-C, a
    supervisor's SIGTERM) must not reach nsjail and be mistaken for the job's fate.
    """
    return subprocess.Popen(
        argv,
        stdin=stdin_fd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(log_fd, *pass_fds),
        start_new_session=True,
    )


def supervise(
    proc: subprocess.Popen,
    log_fd: int,
    time_limit: float,
    output_limit: int,
    watch: Watch,
    checker: Checker,
) -> Outcome:
    """Read a started nsjail's output, stopping it (SIGTERM, which makes it kill the job)
    at either limit or when `watch` cancels it (Cancelled); the time limit counts from now."""
    began = time.monotonic()
    deadline = began + time_limit
    watch.started.set()
    try:
        output, stopped = _read(proc, deadline, output_limit, watch, checker)
        if stopped is None:
            stopped = _wait(proc, deadline, watch.cancel)
    finally:
        # Whatever ended the reading (a limit, an error), nsjail does not outlive it.
        if proc.poll() is None:
            checker.before_stop()
            stop(proc)
        _output(proc).close()
    if watch.cancel.is_set():
        raise Cancelled("the run was cancelled")
    duration = time.monotonic() - began
    size = min(os.fstat(log_fd).st_size, LOG_LIMIT)
    log = os.pread(log_fd, size, 0).decode("utf-8", "replace")
    return Outcome(
        output=output[:output_limit],
        truncated=len(output) > output_limit,
        stopped=stopped,
        exit_code=proc.returncode,
        log=log,
        duration=duration,
    )


def _output(proc: subprocess.Popen) -> typing.IO[bytes]:
    assert proc.stdout is not None  # start() always makes the pipe
    return proc.stdout


def _wait(proc: subprocess.Popen, deadline: float, cancel: threading.Event) -> Stop | None:
    """Wait for nsjail to exit after its output closed; TIMEOUT at the deadline."""
    while not cancel.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Stop.TIMEOUT
        try:
            proc.wait(timeout=min(remaining, CANCEL_POLL))
            return None
        except subprocess.TimeoutExpired:
            pass
    return None


def _read(
    proc: subprocess.Popen, deadline: float, limit: int, watch: Watch, checker: Checker
) -> tuple[bytes, Stop | None]:
    chunks: list[bytes] = []
    size = 0
    fd = _output(proc).fileno()
    next_check = time.monotonic() + checker.interval
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not watch.cancel.is_set():
            now = time.monotonic()
            if now >= deadline:
                return b"".join(chunks), Stop.TIMEOUT
            if now >= next_check:
                checker.check()
                next_check = now + checker.interval
            if not selector.select(min(deadline, next_check, now + CANCEL_POLL) - now):
                continue
            chunk = os.read(fd, READ_SIZE)
            if not chunk:
                return b"".join(chunks), None
            if size < limit:
                watch.sink(chunk[: limit - size])
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks), Stop.OUTPUT
    return b"".join(chunks), None


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM lets nsjail kill the job and remove its cgroups; SIGKILL only as a last resort."""
    proc.terminate()
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_processes_of(uid: int, within: float = STOP_GRACE) -> bool:
    """SIGKILL every process running as host `uid`, and wait until all are gone (reaped);
    False if some are still there after `within` seconds."""
    deadline = time.monotonic() + within
    while pids := processes_running_as(range(uid, uid + 1)):
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    return True


def processes_running_as(uids: range) -> list[int]:
    """Pids of the processes whose real, effective, saved or filesystem uid is in `uids`."""

    def matches(status: bytes) -> bool:
        ids = next((line for line in status.splitlines() if line.startswith(b"Uid:")), b"")
        return any(int(id_) in uids for id_ in ids.split()[1:])

    return _processes_whose("status", matches)


def signal_processes_mentioning(marker: bytes, signal_number: int) -> list[int]:
    """Send a signal to every process whose command line contains `marker`; their pids."""
    signalled = []
    for pid in _processes_whose("cmdline", lambda cmdline: marker in cmdline):
        with contextlib.suppress(OSError):  # gone meanwhile
            os.kill(pid, signal_number)
            signalled.append(pid)
    return signalled


def _processes_whose(name: str, matches: Callable[[bytes], bool]) -> list[int]:
    """Pids of the processes whose /proc/PID/`name` file matches."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/{name}", "rb") as f:
                if matches(f.read()):
                    found.append(int(entry.name))
        except OSError:
            pass  # gone meanwhile, or not ours to read
    return found
