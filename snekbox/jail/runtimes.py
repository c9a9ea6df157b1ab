"""Interpreters offered to jobs, each seen inside the jail as /snekbin/python/<name>.

Inside the jail a runtime is a small virtual environment: `bin/python` is the real
interpreter, `.base` its whole prefix (read-only), `packages` an optional directory of
third-party packages (read-only), and its site-packages holds a .pth that appends
`packages` and /home to sys.path, so a job's own modules import under `-I` without
ever shadowing the standard library, and makes stdin and stdout strict (STRICT_STDIO).
The interpreter's own site-packages (whatever the host installed there, and its .pth
start-up hooks) stays out of jobs' sight.

Its site-packages also holds snekbox.jail.figures as `_snekbox_figures`. A second view of
each runtime, for cold jobs asked for figures, adds a .pth that installs it at start-up;
warm jails use the plain view, and their bootstrap installs it when the job asks.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from snekbox.filesystem import WorkDir, bind_readonly
from snekbox.jail import figures

FIGURES_MODULE = "_snekbox_figures"

JAIL_ROOT = PurePosixPath("/snekbin/python")
DEFAULT_NAME = "default"
# Text that UTF-8 cannot carry fails on stdin and stdout, as in a UTF-8 terminal. Under the
# jail's C.UTF-8 locale Python 3.7+ would escape it silently (surrogateescape), and -I
# makes it ignore PYTHONIOENCODING; 3.6 is strict already and has no reconfigure().
STRICT_STDIO = (
    "import sys; [f.reconfigure(errors='strict') for f in (sys.stdin, sys.stdout) "
    "if hasattr(f, 'reconfigure')]\n"
)
_PROBE = (
    "import sys, platform; print(sys.base_prefix); print(platform.python_version()); "
    "print('%d.%d' % sys.version_info[:2])"
)


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
    packages: Path | None = None

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

    def expose(self, workdir: WorkDir, with_figures: bool = False) -> Path:
        """Build the jail's view of this runtime, `with_figures` installing the figure
        saver at start-up; returns the directory to mount."""
        view = workdir.runtime_dir(f".figures/{self.name}" if with_figures else self.name)
        (view / ".base").mkdir()
        bind_readonly(self.prefix, view / ".base")
        (view / "bin").mkdir()
        (view / "bin" / "python").touch()
        bind_readonly(self.executable, view / "bin" / "python")
        home = self.jail_prefix / ".base" / self.executable.parent.relative_to(self.prefix)
        (view / "pyvenv.cfg").write_text(
            f"home = {home}\ninclude-system-site-packages = false\nversion = {self.version}\n"
        )
        paths = ["/home"]
        if self.packages:
            (view / "packages").mkdir()
            bind_readonly(self.packages, view / "packages")
            paths.insert(0, str(self.jail_prefix / "packages"))
        site = view / "lib" / f"python{self.short_version}" / "site-packages"
        site.mkdir(parents=True)
        (site / "snekbox-paths.pth").write_text("".join(p + "\n" for p in paths) + STRICT_STDIO)
        (site / f"{FIGURES_MODULE}.py").write_bytes(Path(figures.__file__).read_bytes())
        if with_figures:
            (site / f"{FIGURES_MODULE}.pth").write_text(
                f"import {FIGURES_MODULE}; {FIGURES_MODULE}.install()\n"
            )
        return view


def probe(name: str, executable: str) -> Runtime:
    """Ask an interpreter for its prefix and version, so its whole prefix can be mounted."""
    real = Path(os.path.realpath(executable))
    try:
        out = subprocess.run(
            [str(real), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    except (OSError, subprocess.SubprocessError) as e:
        raise RuntimeConfigError(f"runtime {name!r}: cannot run {executable}: {e}") from e
    prefix = Path(os.path.realpath(out[0]))
    if not real.is_relative_to(prefix):
        raise RuntimeConfigError(f"runtime {name!r}: {real} is not under its prefix {prefix}")
    return Runtime(name=name, executable=real, prefix=prefix, version=out[1], short_version=out[2])


def parse_spec(spec: str, value: str = "EXECUTABLE") -> dict[str, str]:
    """`NAME=VALUE,...` as a mapping of runtime names to values."""
    pairs = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, path = (part.strip() for part in item.partition("="))
        if not sep or not name or not path:
            raise RuntimeConfigError(f"{item!r} is not of the form NAME={value}")
        if "/" in name or name.startswith("."):
            raise RuntimeConfigError(f"runtime name {name!r} is not allowed")
        pairs[name] = path
    return pairs


def discover(runtimes_spec: str, packages_spec: str = "") -> dict[str, Runtime]:
    """The default runtime (this service's own interpreter) plus those named in the spec,
    each with its packages directory if one is configured."""
    executables = parse_spec(runtimes_spec)
    if DEFAULT_NAME in executables:
        raise RuntimeConfigError(f"{DEFAULT_NAME!r} is always this service's own interpreter")
    executables = {DEFAULT_NAME: sys.executable, **executables}
    packages = parse_spec(packages_spec, "DIRECTORY")
    unknown = set(packages) - set(executables)
    if unknown:
        raise RuntimeConfigError(f"packages for unknown runtimes {sorted(unknown)}")
    runtimes = {}
    for name, executable in executables.items():
        runtime = probe(name, executable)
        if name in packages:
            directory = Path(packages[name])
            if not directory.is_dir():
                raise RuntimeConfigError(f"packages of {name!r}: {directory} is not a directory")
            runtime = dataclasses.replace(runtime, packages=directory)
        runtimes[name] = runtime
    return runtimes
