"""Interpreters offered to jobs, each seen inside the jail under /snekbin/python/<name>."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

JAIL_ROOT = PurePosixPath("/snekbin/python")
DEFAULT_NAME = "default"
_PROBE = "import sys, platform; print(sys.base_prefix); print(platform.python_version())"


class RuntimeConfigError(ValueError):
    """A configured interpreter cannot be used."""


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One interpreter: where it lives on the host and where jobs see it."""

    name: str
    executable: Path
    prefix: Path
    version: str

    @property
    def jail_prefix(self) -> PurePosixPath:
        return JAIL_ROOT / self.name

    @property
    def executable_path(self) -> str:
        """The classic public path clients name: /snekbin/python/<name>/bin/python."""
        return str(self.jail_prefix / "bin" / "python")

    @property
    def jail_executable(self) -> str:
        """The interpreter's real file inside the jail (bin/python may not exist)."""
        return str(self.jail_prefix / self.executable.relative_to(self.prefix))

    def answers_to(self, path: str) -> bool:
        return path in (self.executable_path, self.jail_executable)


def probe(name: str, executable: str) -> Runtime:
    """Ask an interpreter for its prefix and version, so its whole prefix can be mounted."""
    real = Path(os.path.realpath(executable))
    try:
        out = subprocess.run([str(real), "-I", "-c", _PROBE], capture_output=True, text=True,
                             timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeConfigError(f"runtime {name!r}: cannot run {executable}: {e}") from e
    prefix = Path(os.path.realpath(out[0]))
    if not real.is_relative_to(prefix):
        raise RuntimeConfigError(f"runtime {name!r}: {real} does not live under its prefix {prefix}")
    return Runtime(name=name, executable=real, prefix=prefix, version=out[1])


def parse_spec(spec: str) -> list[tuple[str, str]]:
    """`NAME=EXECUTABLE,...` as (name, executable) pairs."""
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, executable = item.partition("=")
        name = name.strip()
        if not sep or not name or not executable.strip():
            raise RuntimeConfigError(f"runtime {item!r} is not of the form NAME=EXECUTABLE")
        if "/" in name or name.startswith(".") or name == DEFAULT_NAME:
            raise RuntimeConfigError(f"runtime name {name!r} is not allowed")
        pairs.append((name, executable.strip()))
    return pairs


def discover(spec: str) -> dict[str, Runtime]:
    """The default runtime (this service's own interpreter) plus those named in `spec`."""
    runtimes = {DEFAULT_NAME: probe(DEFAULT_NAME, sys.executable)}
    for name, executable in parse_spec(spec):
        runtimes[name] = probe(name, executable)
    return runtimes
