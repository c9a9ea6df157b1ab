"""The program a warm jail's interpreter runs until it is handed its one job.

A warm jail is started as `python FLAGS -c SOURCE FD`: the interpreter starts up as for
any job, then blocks reading the job's arguments (marshalled, the same list a cold run
would put after the flags, and whether the job asked for figures) from a pipe at
descriptor FD. It installs the figure saver if asked (at start-up, as a cold run's .pth
would have: see snekbox.jail.figures), then runs the job the way `python -I -c
CODE ARGS...` or `python -I SCRIPT.py ARGS...` would: in `__main__`, with sys.argv and
sys.orig_argv as they would be, a script's `__file__` and `__loader__`, and uncaught
exceptions (SystemExit and KeyboardInterrupt too) left to the interpreter itself, so exit
codes and tracebacks are its own. The bootstrap's frame is cut from tracebacks; it stays
visible only as the caller of the job's module frame (sys._getframe().f_back).

An empty message (the service closed the pipe without a job) ends the interpreter.
"""

from __future__ import annotations

import importlib.util
import marshal
import zipfile
from io import BytesIO

from snekbox.filesystem import InputFile
from snekbox.jail.runtimes import FIGURES_MODULE

HOME = "/home"

SOURCE = f"""\
def _snekbox(fd):
    import marshal, os, sys
    del globals()["_snekbox"]
    # The first compile() builds the interpreter's AST types (about 1 ms); pay it now.
    compile("", "", "exec")
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    if not chunks:
        os._exit(0)
    args, figures = marshal.loads(b"".join(chunks))
    if figures:
        __import__("{FIGURES_MODULE}").install()
    sys.orig_argv = [*sys.orig_argv[:-3], *args]  # drop "-c SOURCE FD", keep the flags
    for finder in sys.path_importer_cache.values():
        if hasattr(finder, "invalidate_caches"):
            finder.invalidate_caches()
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        return args[1], "<string>"
    sys.argv = list(args)
    path = "{HOME}/" + args[0]
    globals().update(__file__=path, __cached__=None, __loader__=sys.modules[
        "_frozen_importlib_external"].SourceFileLoader("__main__", path))
    with open(path, "rb") as f:
        return f.read(), path
try:
    exec(compile(*_snekbox(int(__import__("sys").argv[1])), "exec", dont_inherit=True),
         globals())
except BaseException as _snekbox_exception:
    _snekbox_exception.__traceback__ = _snekbox_exception.__traceback__.tb_next
    raise
"""


def message(args: tuple[str, ...], figures: bool) -> bytes:
    """What the service writes to a warm jail's pipe to hand it the job `args`."""
    return marshal.dumps((tuple(args), figures))


def serves(args: tuple[str, ...], files: tuple[InputFile, ...]) -> bool:
    """Whether the bootstrap runs `args` exactly as the interpreter would run them itself.

    That is `-c CODE ...`, or `SCRIPT.py ...` for a script among the input files that the
    interpreter would neither run as bytecode nor as a zip application.
    """
    if len(args) >= 2 and args[0] == "-c":
        return True
    script = next((f.content for f in files if args and f.path == args[0]), None)
    return (
        script is not None
        and args[0].endswith(".py")
        and not args[0].startswith("-")
        and script[:2] != importlib.util.MAGIC_NUMBER[:2]
        and not zipfile.is_zipfile(BytesIO(script))
    )
