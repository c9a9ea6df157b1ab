"""Interpreters offered to jobs, each seen inside the jail as /snekbin/python/<name>.

Inside the jail a runtime is a small virtual environment: `bin/python` is the real
interpreter, `.base` its whole prefix (read-only), and its site-packages holds a .pth
that appends /home to sys.path, so a job's own modules import under `-I` without ever
shadowing the standard library.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from snekbox.filesystem import WorkDir, bind_readonly

JAIL_ROOT = PurePosixPath("/snekbin/python")
DEFAULT_NAME = "default"
_PROBE = ("import sys, platform; print(sys.base_prefix); print(platform.python_version()); "
          "print('%d.%d' % sys.version_info[:2])")


class RuntimeConfigError(ValueError):
    """A configured interpreter cannot be used."""


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One interpreter: where it lives on the host and where jobs see it."""

    name: str
    executable: Path
    prefix: Path
    version: str
    short_version: str

    @property
    def jail_prefix(self) -> PurePosixPath:
        return JAIL_ROOT / self.name

    @property
    def executable_path(self) -> str:
        """The interpreter inside the jail: /snekbin/python/<name>/bin/python."""
        return str(self.jail_prefix / "bin" / "python")

    @property
    def jail_environment(self) -> dict[str, str]:
        """Variables the interpreter needs in the jail: its own libpython, if it has one.

        Without it, an interpreter whose RPATH points at its host prefix would silently
        load the system's libpython of another patch release.
        """
        if any((self.prefix / "lib").glob("libpython*.so*")):
            return {"LD_LIBRARY_PATH": str(self.jail_prefix / ".base" / "lib")}
        return {}

    def expose(self, workdir: WorkDir) -> Path:
        """Build the jail's view of this runtime; returns the directory to mount."""
        view = workdir.runtime_dir(self.name)
        (view / ".base").mkdir()
        bind_readonly(self.prefix, view / ".base")
        (view / "bin").mkdir()
        (view / "bin" / "python").touch()
        bind_readonly(self.executable, view / "bin" / "python")
        home = self.jail_prefix / ".base" / self.executable.parent.relative_to(self.prefix)
        (view / "pyvenv.cfg").write_text(
            f"home = {home}\ninclude-system-site-packages = true\nversion = {self.version}\n")
        site = view / "lib" / f"python{self.short_version}" / "site-packages"
        site.mkdir(parents=True)
        (site / "snekbox-home.pth").write_text("/home\n")
        return view


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
        raise RuntimeConfigError(f"runtime {name!r}: {real} is not under its prefix {prefix}")
    return Runtime(name=name, executable=real, prefix=prefix, version=out[1],
                   short_version=out[2])


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
