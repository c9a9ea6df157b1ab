"""The locked job packages (config/job-packages.txt, the full image's) at work in jobs,
through a real server, within the default limits unless a test says otherwise."""

from __future__ import annotations

import base64
import os

import pytest

from tests.conftest import start_server, stop_server

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
THREAD_COUNTS = (
    "from threadpoolctl import threadpool_info\n"
    "print(sorted({i['internal_api']: i['num_threads'] for i in threadpool_info()}.items()))"
)
MATMUL = (
    "import numpy as np\n"
    "a = np.arange(250000, dtype=float).reshape(500, 500) % 7\n"
    "print(np.allclose(a @ a, np.einsum('ij,jk->ik', a, a)))"
)


@pytest.fixture(scope="module")
def packaged(job_packages):
    proc, client = start_server({"SNEKBOX_PACKAGES": f"default={job_packages}"})
    yield client
    stop_server(proc)


def test_numpy_uses_one_thread_unless_asked(packaged):
    body = packaged.eval(input=f"{MATMUL}\n{THREAD_COUNTS}", limits={"processes": 4})
    assert body["stdout"] == "True\n[('openblas', 1)]\n", body


def test_numpy_uses_the_threads_a_job_asks_for_within_its_limit(packaged):
    code = f"import os\nos.environ['OPENBLAS_NUM_THREADS'] = '2'\n{MATMUL}\n{THREAD_COUNTS}"
    body = packaged.eval(input=code, limits={"processes": 2})
    # OpenBLAS takes no more threads than the machine has cores.
    threads = min(2, len(os.sched_getaffinity(0)))
    assert body["stdout"] == f"True\n[('openblas', {threads})]\n", body


def test_numpy_imports_while_the_job_holds_every_other_thread(packaged):
    code = (
        "import threading\nfor _ in range(3):\n"
        "    threading.Thread(target=__import__('time').sleep, args=(2,), daemon=True).start()\n"
        f"{MATMUL}"
    )
    body = packaged.eval(input=code, limits={"processes": 4})
    assert (body["stdout"], body["status"]) == ("True\n", "ok"), body


def test_pandas_dataframe(packaged):
    code = (
        "import pandas as pd\n"
        "df = pd.DataFrame({'x': [1, 2, 3], 'y': [4.0, 5.5, 6.0]})\n"
        "print(df.describe().loc['mean'].to_dict())"
    )
    assert packaged.eval(input=code)["stdout"] == "{'x': 2.0, 'y': 5.166666666666667}\n"


def test_matplotlib_saves_a_png_without_configuration(packaged):
    code = (
        "import matplotlib, matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [1, 4, 9])\n"
        "plt.title('squares')\n"
        "plt.savefig('plot.png')\n"
        "print(matplotlib.get_backend())"
    )
    body = packaged.eval(input=code)
    assert (body["stdout"], body["status"]) == ("Agg\n", "ok"), body
    [png] = body["files"]
    assert png["path"] == "plot.png"
    assert base64.b64decode(png["content"]).startswith(PNG_SIGNATURE)


OTHERS = {
    "scipy": (
        "from scipy.optimize import brentq; print(round(brentq(lambda x: x * x - 2, 0, 2), 6))",
        "1.414214",
    ),
    "sympy": ("import sympy; x = sympy.Symbol('x'); print(sympy.integrate(x**2, x))", "x**3/3"),
    "networkx": (
        "import networkx as nx; print(nx.shortest_path(nx.path_graph(4), 0, 3))",
        "[0, 1, 2, 3]",
    ),
    "more-itertools": (
        "import more_itertools as m; print(list(m.chunked(range(5), 2)))",
        "[[0, 1], [2, 3], [4]]",
    ),
    "attrs": ("import attrs\n@attrs.define\nclass P:\n    x: int\nprint(P(1))", "P(x=1)"),
    "dateutil": (
        "from dateutil import parser; print(parser.parse('2024-02-29T12:00').isoformat())",
        "2024-02-29T12:00:00",
    ),
    "pyyaml": ("import yaml; print(yaml.safe_load('a: [1, 2]'))", "{'a': [1, 2]}"),
    "beautifulsoup4": (
        "import bs4; print(bs4.BeautifulSoup('<b>hi</b>', 'html.parser').b.text)",
        "hi",
    ),
    "lark": ("import lark; print(lark.Lark('start: \"a\"+').parse('aaa').data)", "start"),
    "arrow": (
        "import arrow; print(arrow.get('2024-01-01T00:00:00+00:00').to('Europe/Paris').hour)",
        "1",
    ),
    "tzdata": (  # zoneinfo without the system's zone files falls back to the package
        "import datetime, zoneinfo; zoneinfo.reset_tzpath(to=[])\n"
        "print(datetime.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo('Asia/Tokyo')).utcoffset())",
        "9:00:00",
    ),
}


@pytest.mark.parametrize("code,expected", OTHERS.values(), ids=OTHERS.keys())
def test_the_other_packages_work(packaged, code, expected):
    body = packaged.eval(input=code)
    assert body["stdout"] == expected + "\n", body
