"""Host-side filesystems of the jail: runtimes exposed read-only and a fresh tmpfs per run.

Everything is mounted inside a private mount namespace of the service (entered once at
start-up), so no mount is visible on the host and none outlives the service, even if it
is killed. Within it, a tmpfs covers `work_dir`; runtimes and runs live below it.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import stat
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from snekbox.result import FileAttachment

# The group of every job, inside its jail and out (nogroup); its user is leased per jail.
JOB_GID = 65534
CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
# Bounds on the walk over a finished run's /home, so a tree of many tiny entries is cheap.
MAX_ENTRIES_SCANNED = 10000
MAX_DEPTH = 32

_libc = ctypes.CDLL(None, use_errno=True)


class FilesystemError(OSError):
    """A mount or unmount failed: the host is not set up to run jobs."""


class InputFileError(ValueError):
    """A client-supplied input file cannot be written: bad path, or too large."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise FilesystemError(err, f"{what}: {os.strerror(err)}")


def mount(source: str, target: Path, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode(),
            str(target).encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode(),
        ),
        f"mount {source} on {target}",
    )


def unmount(target: Path, lazily: bool = False) -> None:
    """Unmount, detaching lazily (with all below) if asked or if something holds it."""
    if lazily or _libc.umount2(str(target).encode(), 0) != 0:
        _check(_libc.umount2(str(target).encode(), MNT_DETACH), f"umount {target}")


def enter_private_namespaces() -> None:
    """Give this process mount and IPC namespaces of its own: mounts and System V IPC
    objects (the job slots' semaphores) made later vanish with it.

    Call it from the main thread before any other thread or worker process is started.
    """
    _check(
        _libc.unshare(CLONE_NEWNS | CLONE_NEWIPC),
        "unshare(CLONE_NEWNS | CLONE_NEWIPC): snekbox must run as root",
    )
    # Private, not slave: no mount of another snekbox (say, the one that started this one)
    # propagates in, and none of ours propagates out.
    mount("none", Path("/"), None, MS_REC | MS_PRIVATE)


def bind_readonly(source: Path, target: Path) -> None:
    """Bind `source` (a file or directory tree) read-only onto an existing `target`.

    Binding here, as root, is what lets a prefix under a mode-700 home (pyenv in /root)
    reach the jail: nsjail's own mounts are made as an unprivileged user.
    """
    mount(str(source), target, None, MS_BIND | MS_REC)
    mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def validate_path(path: str) -> PurePosixPath:
    """A client's file path, relative and inside /home, or InputFileError saying why not."""
    if "\0" in path:
        raise InputFileError(f"file path {path!r} contains a NUL character")
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InputFileError(f"file path {path!r} is not valid Unicode") from None
    pure = PurePosixPath(path)
    if not path or pure.is_absolute():
        raise InputFileError(f"file path {path!r} must be relative to /home")
    if ".." in pure.parts or pure == PurePosixPath("."):
        raise InputFileError(f"file path {path!r} must stay inside /home")
    if len(path.encode("utf-8")) > 1024 or any(len(p) > 255 for p in pure.parts):
        raise InputFileError(f"file path {path[:80]!r}... is too long")
    return pure


@dataclasses.dataclass(frozen=True)
class InputFile:
    """A client's file for /home. Its path is checked when it is made (InputFileError), so
    that a run's /home can write it, as root, without looking again."""

    path: str
    content: bytes

    def __post_init__(self) -> None:
        validate_path(self.path)


class WorkDir:
    """The service's private tmpfs at `root`, holding runtime views and per-run mounts."""

    def __init__(self, root: Path):
        self.root = root

    def mount(self) -> None:
        """Mount a fresh tmpfs at `root`, in this process's private mount namespace.

        A snekbox started by another one (a test server, `python -m snekbox` run by a
        service) copied that one's mounts when it entered its namespace, runs in flight
        included: they are detached first, so none is pinned here for this one's life.
        """
        self.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        while os.path.ismount(self.root):
            unmount(self.root, lazily=True)
        mount("snekbox", self.root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for sub in ("runtimes", "runs"):
            (self.root / sub).mkdir(mode=0o755)

    def runtime_dir(self, name: str) -> Path:
        """An empty directory in which a jail view of runtime `name` is built (`name` may
        be a relative path: variants of a view live below a directory of their own)."""
        path = self.root / "runtimes" / name
        path.mkdir(mode=0o755, parents=True)
        return path

    def new_run(self, size: int, uid: int) -> RunHome:
        """A run's /home owned by host `uid`, named after this process, so that runs can
        be found by the process that made them."""
        return RunHome(self.root / "runs" / f"{os.getpid()}-{uuid.uuid4().hex}", size, uid)

    def runs_of(self, pid: int) -> list[Path]:
        """The runs process `pid` has open: after its death, those it could not clean up."""
        return sorted((self.root / "runs").glob(f"{pid}-*"))

    def release_runs_of(self, pid: int) -> None:
        """Unmount and remove the runs left by a process that died in the middle of them."""
        for run in self.runs_of(pid):
            if os.path.ismount(run):
                unmount(run)
            run.rmdir()


class RunHome:
    """One run's /home: a size-capped tmpfs owned by the job's host uid, mounted on entry
    and gone on exit."""

    def __init__(self, path: Path, size: int, uid: int):
        self.path = path
        self.size = size
        self.uid = uid
        self._inputs: dict[str, bytes] = {}
        self._directories = {"."}  # relative paths of the directories made so far

    def __enter__(self) -> RunHome:
        self.path.mkdir(mode=0o755)
        try:
            mount(
                "snekbox-home",
                self.path,
                "tmpfs",
                MS_NOSUID | MS_NODEV | MS_NOEXEC,
                f"size={self.size},uid={self.uid},gid={JOB_GID},mode=0755,nr_inodes=4096",
            )
        except FilesystemError:
            self.path.rmdir()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            unmount(self.path)
        finally:
            self.path.rmdir()

    def write_inputs(self, files: Iterable[InputFile]) -> None:
        """Write the client's files, creating directories, all owned by the job's user."""
        for file in files:
            pure = PurePosixPath(file.path)
            try:
                self._write(pure, file.content)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise InputFileError(
                    f"file path {file.path!r} is given twice or clashes with another"
                ) from None
            except OSError as e:
                raise InputFileError(
                    f"cannot write {file.path!r}: {e.strerror}; the run's "
                    f"/home holds at most {self.size} bytes"
                ) from None
            self._inputs[str(pure)] = file.content

    def _write(self, path: PurePosixPath, content: bytes) -> None:
        # Each directory is looked at once per run, not once per file under it: a thousand
        # files 500 levels deep would otherwise cost seconds of lookups.
        if str(path.parent) not in self._directories:
            directory = ""
            for part in path.parts[:-1]:
                directory = f"{directory}/{part}" if directory else part
                if directory not in self._directories:
                    if not (self.path / directory).is_dir():
                        (self.path / directory).mkdir(mode=0o755)
                        os.chown(self.path / directory, self.uid, JOB_GID)
                    self._directories.add(directory)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(self.path / path, flags, 0o644), "wb") as f:
            f.write(content)
            os.fchown(f.fileno(), self.uid, JOB_GID)

    def collect_outputs(self, max_files: int) -> tuple[FileAttachment, ...]:
        """Regular files the job created or changed, never following a link.

        Skips hidden names (leading "." or "_"), names that are not UTF-8, unchanged
        inputs, and anything that is not a regular file on this run's own tmpfs.
        """
        found: list[FileAttachment] = []
        budget = self.size
        device = os.lstat(self.path).st_dev
        pending: list[tuple[str, str]] = [(str(self.path), "")]
        scanned = 0
        while pending and len(found) < max_files and scanned < MAX_ENTRIES_SCANNED:
            directory, prefix = pending.pop()
            try:
                with os.scandir(directory) as it:
                    entries = sorted(it, key=lambda e: e.name)[: MAX_ENTRIES_SCANNED - scanned]
            except OSError:
                continue  # e.g. a path longer than PATH_MAX: skipped, like anything odd
            scanned += len(entries)
            for entry in entries:
                if entry.name[0] in "._" or not _is_utf8(entry.name):
                    continue
                relative = prefix + entry.name
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_dev != device:
                    continue
                if stat.S_ISDIR(info.st_mode) and prefix.count("/") < MAX_DEPTH:
                    pending.append((entry.path, relative + "/"))
                elif stat.S_ISREG(info.st_mode) and info.st_size <= budget:
                    content = _read_regular(entry.path, device, budget)
                    if content is None or self._inputs.get(relative) == content:
                        continue
                    budget -= len(content)
                    found.append(FileAttachment(relative, content))
                    if len(found) >= max_files:
                        break
        return tuple(sorted(found, key=lambda f: f.path))


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_regular(path: str, device: int, limit: int) -> bytes | None:
    """The bytes of a regular file on `device`, or None for anything else or too large."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_dev != device or info.st_size > limit:
            return None
        chunks, remaining = [], limit + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
            chunks.append(chunk)
            remaining -= len(chunk)
        content = b"".join(chunks)
        return content if len(content) <= limit else None
    finally:
        os.close(fd)
