"""Runs inside a job, not in the service: matplotlib figures still open at exit become PNGs.

Each runtime's view holds a copy of this file as `_snekbox_figures`; a job asked with
"figures": true calls its install() at start-up (the view's .pth for a cold jail, the
bootstrap for a warm one). install() only waits for `matplotlib.pyplot` to be imported,
so a job without matplotlib is unaffected. Once pyplot is imported, Agg is its backend
(a jail has no display) and a saver is registered with atexit: pyplot's own exit handler
closes every figure, and being registered after it, the saver runs before it.

It runs under the job's interpreter, which may be another Python version than the
service's, and must leave the job alone: it imports nothing the interpreter has not
loaded already (types are for the type checker only), and a figure that cannot be saved
is left out silently rather than writing to the job's output.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

PYPLOT = "matplotlib.pyplot"
HOME = "/home"


def install() -> None:
    """Set up the saver for when the job imports pyplot, once: in a virtual environment,
    site runs the import lines of its .pth files twice."""
    if not any(isinstance(finder, _PyplotFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PyplotFinder())


def save_open_figures() -> None:
    """Each figure still open as /home/figure-N.png (N its number), unless the job wrote a
    file of that name itself.

    Each is written under a hidden name (never returned) and linked into place once whole:
    a job killed while saving (at its time or memory limit) returns no half-written image.
    """
    pyplot = sys.modules.get(PYPLOT)
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        path = f"{HOME}/figure-{number}.png"
        partial = f"{HOME}/.figure-{number}.png.partial"
        try:
            file = open(partial, "xb")
        except OSError:
            continue
        try:
            with file:
                pyplot.figure(number).savefig(file, format="png")
            os.link(partial, path)  # fails if the job wrote figure-N.png itself
        except Exception:
            pass  # left out (a bad plot, a full /home)
        finally:
            os.unlink(partial)


class _PyplotFinder:
    """A meta path finder: finds pyplot with the other finders, once, and wraps its loader."""

    def find_spec(
        self, fullname: str, path: "Sequence[str] | None", target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        if fullname != PYPLOT:
            return None
        sys.meta_path.remove(self)  # the job's import machinery is as before from now on
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None and spec.loader is not None:
                spec.loader = _PyplotLoader(spec.loader)
                return spec
        return None


class _PyplotLoader:
    """pyplot's own loader, with Agg chosen before and the saver registered after."""

    def __init__(self, loader: "Loader"):
        self.loader = loader

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        return self.loader.create_module(spec)

    def exec_module(self, module: "ModuleType") -> None:
        import atexit

        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        sys.modules["matplotlib"].rcParams["backend"] = "agg"  # what use() does before pyplot
        self.loader.exec_module(module)
        atexit.register(save_open_figures)
