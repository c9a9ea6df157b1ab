"""Figures without savefig: with "figures": true, matplotlib figures still open when the job
ends come back as PNG files, through a real server whose jobs have matplotlib installed the
documented way. Each case runs in a cold jail and in a warm one (see warm_eval)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import start_server, stop_server
from tests.helpers import unb64

PNG = b"\x89PNG\r\n\x1a\n"
MEMORY = 256 * 1024 * 1024  # matplotlib with numpy needs more than the default
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nprint('drawn')\n"
TWO = (
    "import matplotlib.pyplot as plt\nplt.figure(); plt.plot([1, 2])\n"
    "plt.figure(); plt.bar(['a', 'b'], [3, 4])\n"
)
# A job that shows the bootstrap's frame below its own ran in a warm jail (bootstrap.py).
WHERE = "import sys\nprint('warm' if sys._getframe().f_back else 'cold')\n"


@pytest.fixture(scope="module")
def plotting(job_packages):
    """A server whose default runtime has matplotlib and enough memory for it."""
    proc, client = start_server(
        {"SNEKBOX_PACKAGES": f"default={job_packages}", "SNEKBOX_MEMORY_LIMIT": str(MEMORY)}
    )
    yield client
    stop_server(proc)


def evaluate(client, jail: str, code: str, **fields: object) -> dict:
    """The answer to `code` run in a `jail` ("cold" or "warm") jail, its first line (where it
    ran) taken off the output. A memory limit other than the default keeps a job cold; a
    job meant to be warm is sent again until a warm jail was ready for it."""
    limits = {"time": 30, "memory": MEMORY - (jail == "cold")}
    for _ in range(50):
        answer = client.eval(input=WHERE + code, limits=limits, **fields)
        ran_in, _, answer["stdout"] = answer["stdout"].partition("\n")
        if ran_in == jail:
            return answer
    pytest.fail(f"no {jail} jail ran the job in 50 tries")


def images(answer: dict) -> dict[str, bytes]:
    return {f["path"]: unb64(f["content"]) for f in answer["files"]}


@pytest.mark.parametrize("jail", ["cold", "warm"])
def test_a_plot_without_savefig_comes_back_as_a_png(plotting, jail):
    answer = evaluate(plotting, jail, PLOT, figures=True)
    assert (answer["status"], answer["stdout"]) == ("ok", "drawn\n")
    files = images(answer)
    assert list(files) == ["figure-1.png"]
    assert files["figure-1.png"].startswith(PNG)


@pytest.mark.parametrize("jail", ["cold", "warm"])
def test_two_figures_come_back_as_two(plotting, jail):
    files = images(evaluate(plotting, jail, TWO, figures=True))
    assert sorted(files) == ["figure-1.png", "figure-2.png"]
    assert all(content.startswith(PNG) for content in files.values())
    assert files["figure-1.png"] != files["figure-2.png"]


@pytest.mark.parametrize("jail", ["cold", "warm"])
def test_without_the_option_nothing_is_added(plotting, jail):
    answer = evaluate(plotting, jail, PLOT)
    assert (answer["status"], answer["stdout"], answer["files"]) == ("ok", "drawn\n", [])


def test_figures_the_job_closed_or_saved_itself_are_not_added(plotting):
    code = (
        "import matplotlib.pyplot as plt\nplt.plot([1]); plt.savefig('figure-1.png')\n"
        "open('figure-1.png', 'w').write('mine')\nplt.figure(); plt.close()\n"
    )
    files = images(evaluate(plotting, "cold", code, figures=True))
    assert files == {"figure-1.png": b"mine"}


def test_a_job_that_shows_its_plot_then_fails_still_returns_it(plotting):
    answer = evaluate(plotting, "cold", PLOT + "plt.show()\nraise SystemExit(3)\n", figures=True)
    assert (answer["stdout"], answer["returncode"]) == ("drawn\n", 3)
    assert list(images(answer)) == ["figure-1.png"]


@pytest.mark.parametrize("jail", ["cold", "warm"])
def test_a_job_without_matplotlib_is_unaffected(plotting, jail):
    """It gets the same output and files; all it could see is the saver's module and the
    finder that waits for pyplot."""
    code = (
        "import json, sys\nopen('out.txt', 'w').write('x')\nprint(json.dumps([sorted(sys.modules), "
        "[type(f).__name__ for f in sys.meta_path]]))"
    )
    plain = evaluate(plotting, jail, code)
    with_figures = evaluate(plotting, jail, code, figures=True)
    assert with_figures["files"] == plain["files"] != []
    modules, finders = json.loads(plain["stdout"])
    assert json.loads(with_figures["stdout"]) == [
        sorted([*modules, "_snekbox_figures"]),
        ["_PyplotFinder", *finders],
    ]


@pytest.mark.parametrize("jail", ["cold", "warm"])
def test_the_saver_and_its_view_are_read_only_to_jobs(plotting, jail):
    """A job asked for figures cannot change the saver, nor add a start-up hook, for itself
    or for the jobs after it."""
    code = (
        "import errno, os, _snekbox_figures as saver\n"
        "where = os.path.dirname(saver.__file__)\n"
        "for path in (saver.__file__, where + '/zz.pth', where + '/../../../pyvenv.cfg'):\n"
        "    try:\n"
        "        open(path, 'a').write('import os; os._exit(9)\\n')\n"
        "        print('written', path)\n"
        "    except OSError as e:\n"
        "        print(e.errno in (errno.EROFS, errno.EACCES))\n"
    )
    for _ in range(2):
        answer = evaluate(plotting, jail, code, figures=True)
        assert (answer["status"], answer["stdout"]) == ("ok", "True\nTrue\nTrue\n")


def test_many_or_huge_figures_meet_the_jobs_own_limits(plotting):
    """Saving happens inside the job: more figures than a job may return files, or one too
    large for its memory, end as any job's files or memory would."""
    many = "import matplotlib.pyplot as plt\nfor n in range(150):\n    plt.figure(figsize=(1, 1))\n"
    answer = evaluate(plotting, "cold", many, figures=True)
    assert answer["status"] == "ok"
    assert 0 < len(answer["files"]) <= 100  # max_output_files
    huge = "import matplotlib.pyplot as plt\nplt.figure(figsize=(500, 500)).gca().plot([1, 2])\n"
    answer = evaluate(plotting, "cold", huge, figures=True)
    assert (answer["status"], answer["files"]) == ("oom", [])
