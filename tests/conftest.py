"""Fixtures that run the real thing: an in-process jail and a real gunicorn server."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from snekbox import settings as settings_module
from snekbox.jobs import Jobs
from snekbox.limits import PARENT
from snekbox.result import EvalResult
from tests.helpers import Client, b64

ROOT = Path(__file__).resolve().parent.parent
SECRET_VARIABLE = "SNEKBOX_TEST_SECRET"
SECRET_VALUE = "the-server-environment-must-not-leak"
STARTUP_BOUND = 120
# Third-party packages the tests give jobs (numpy, pandas, matplotlib, ...): the locked list
# of the full Docker image.
JOB_REQUIREMENTS = ROOT / "config" / "job-packages.txt"


@pytest.fixture(scope="session")
def settings():
    return settings_module.current()


@pytest.fixture(scope="session")
def job_packages() -> Path:
    """JOB_REQUIREMENTS installed the documented way (scripts/packages), once per version of
    the list: pass it as SNEKBOX_PACKAGES=default=<this directory>."""
    digest = hashlib.sha256(JOB_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    directory = Path("/var/cache/snekbox-tests") / f"packages-{digest}"
    if not (directory / ".complete").exists():
        subprocess.run(
            [ROOT / "scripts" / "packages", directory],
            check=True,
            capture_output=True,
        )
        (directory / ".complete").touch()
    return directory


@pytest.fixture(scope="session")
def jobs(settings) -> Jobs:
    """A jail in this process, exactly as a service worker prepares it (warm jails too)."""
    jobs = Jobs.start(settings)
    jobs.start_pool()
    yield jobs
    jobs.close()


def request_document(code: str | None = None, **fields: object) -> dict:
    """A request as a client would send it: code or args, files as bytes, stdin as text."""
    document: dict[str, object] = {"args": list(fields.pop("args", ("-c", code)))}
    if "files" in fields:
        files = fields.pop("files")
        document["files"] = [
            {"path": path, "content": b64(content)} for path, content in files.items()
        ]
    if isinstance(fields.get("stdin"), bytes):
        fields["stdin"] = fields["stdin"].decode()
    return {**document, **fields}


@pytest.fixture(scope="session")
def run(jobs):
    """run(code, **request fields) -> EvalResult, through the request boundary and the jobs
    layer, without HTTP."""

    def run(code: str | None = None, **fields: object) -> EvalResult:
        return jobs.run(jobs.requests.parse(request_document(code, **fields)))

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    env: dict[str, str] | None = None, wait_healthy: bool = True
) -> tuple[subprocess.Popen, Client]:
    """A real gunicorn serving snekbox on a free loopback port, once /health answers
    (or, without `wait_healthy`, once it answers at all)."""
    port = free_port()
    # The log goes to an unnamed file, not a pipe: a pipe nobody reads would fill up and
    # stall the server once it has logged 64 KiB.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "snekbox", "serve", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, SECRET_VARIABLE: SECRET_VALUE, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    proc.log = log
    client = Client("127.0.0.1", port)
    # Generous: the bound only keeps a broken server from hanging the tests, and an
    # emulated VM (scripts/cgroup2-check) starts one about 20 times slower.
    deadline = time.monotonic() + STARTUP_BOUND
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {server_log(proc)[-3000:]}")
        try:
            if client.get("/health").status == 200 or not wait_healthy:
                return proc, client
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"server did not become healthy in {STARTUP_BOUND} s")


def server_log(proc: subprocess.Popen) -> str:
    """What a server started by start_server has logged so far."""
    proc.log.seek(0)
    return proc.log.read().decode("utf-8", "replace")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="session")
def server():
    """(process, client) of a gunicorn server shared by the HTTP tests."""
    proc, client = start_server()
    yield proc, client
    stop_server(proc)


@pytest.fixture(scope="session")
def client(server) -> Client:
    return server[1]


def _parent_of(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except (OSError, IndexError):
        return "0"


def _is_ours_or_orphaned(pid: str) -> bool:
    """An nsjail of this test session, or one whose server is gone (not another session's)."""
    parent = _parent_of(pid)
    while parent not in ("0", "1"):
        if parent == str(os.getpid()):
            return True
        parent = _parent_of(parent)
    return _parent_of(pid) == "1"


def _idle_run_cgroups() -> set[str]:
    found = set()
    for base in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        parent = Path(base) / PARENT
        if parent.is_dir():
            found |= {str(p) for p in parent.iterdir() if p.is_dir() and _is_empty(p)}
    return found


def _is_empty(cgroup: Path) -> bool:
    try:
        return not (cgroup / "cgroup.procs").read_text().strip()
    except FileNotFoundError:  # removed meanwhile by the nsjail of another test session
        return False


def leftovers(mounts_file: str = "/proc/self/mounts") -> list[str]:
    """Run mounts, per-run cgroups and nsjail processes that outlived their jobs.

    Other test sessions may be running jobs meanwhile: a cgroup counts only if it stays
    empty of processes (nsjail removes its own at once), an nsjail only if it is ours.
    """
    found = [
        line
        for line in Path(mounts_file).read_text().splitlines()
        if "snekbox-home" in line or "/runs/" in line.split()[1]
    ]
    idle = _idle_run_cgroups()
    time.sleep(1)
    found += sorted(idle & _idle_run_cgroups())
    nsjails = subprocess.run(["pgrep", "-x", "nsjail"], capture_output=True, text=True).stdout
    return found + [f"nsjail process {pid}" for pid in nsjails.split() if _is_ours_or_orphaned(pid)]


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind():
    """After the whole suite: no mounts, cgroups, temp dirs or processes remain."""
    yield
    assert leftovers() == []
    assert leftovers("/proc/1/mounts") == []
    orphaned = [
        name
        for name in os.listdir("/tmp")
        if name.startswith("snekbox-metrics-") and not Path(f"/proc/{name.split('-')[2]}").exists()
    ]
    assert orphaned == []
