"""The production image (the full one, with the job packages), served by docker-compose.yml,
checked from outside through 127.0.0.1.

scripts/docker-smoke builds the image, starts the stack and runs this module (`-m
docker_stack`) with SNEKBOX_SMOKE_CONTAINER set to the container's id; the rest of the suite
leaves it out (pytest.ini).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import Client

CONTAINER = os.environ.get("SNEKBOX_SMOKE_CONTAINER", "")
IMAGE = os.environ.get("SNEKBOX_IMAGE", "snekbox:full")
PORT = int(os.environ.get("SNEKBOX_HOST_PORT", "8060"))
# The CA bundle lent to pip during the build, if any.
CA_BUNDLE = os.environ.get("SNEKBOX_SMOKE_CA_BUNDLE", "")
READY_TIMEOUT = float(os.environ.get("READY_TIMEOUT", "180"))

pytestmark = pytest.mark.docker_stack


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def inspect(template: str) -> str:
    return docker("inspect", "-f", template, CONTAINER)


@pytest.fixture(scope="module")
def client() -> Client:
    """A client of the stack on 127.0.0.1, once /health has answered 200."""
    client = Client("127.0.0.1", PORT, timeout=30)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        assert inspect("{{.State.Status}}") == "running", docker("logs", "--tail", "40", CONTAINER)
        try:
            if client.get("/health").status == 200:
                return client
        except OSError:
            pass
        assert time.monotonic() < deadline, f"GET /health: no 200 within {READY_TIMEOUT:.0f} s"
        time.sleep(1)


def test_published_on_loopback_only():
    bindings = json.loads(inspect("{{json .NetworkSettings.Ports}}"))
    assert bindings["8060/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(PORT)}]


def test_health(client):
    response = client.get("/health")
    assert response.status == 200
    assert response.json["status"] == "ok"


def test_container_healthcheck_is_healthy(client):
    """The image's own HEALTHCHECK (every 30 s) reports the container healthy."""
    deadline = time.monotonic() + READY_TIMEOUT
    health = "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    while (status := inspect(health)) == "starting" and time.monotonic() < deadline:
        time.sleep(2)
    assert status == "healthy"


def test_eval(client):
    response = client.post("/eval", {"input": "print(6 * 7)"})
    assert response.status == 200, response.body
    result = response.json
    assert (result["stdout"], result["returncode"], result["status"]) == ("42\n", 0, "ok")


def test_numpy(client):
    code = "import numpy as np; print(np.linalg.solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]))"
    result = client.post("/eval", {"input": code}).json
    assert (result["stdout"], result["status"]) == ("[0.8 1.4]\n", "ok"), result


def test_pandas_dataframe(client):
    code = (
        "import pandas as pd\n"
        "df = pd.DataFrame({'city': ['a', 'b', 'a'], 'n': [1, 2, 3]})\n"
        "print(df.groupby('city')['n'].sum().to_dict())"
    )
    result = client.post("/eval", {"input": code}).json
    assert (result["stdout"], result["status"]) == ("{'a': 4, 'b': 2}\n", "ok"), result


def test_matplotlib_plot_comes_back_as_a_png(client):
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.bar(['a', 'b'], [3, 5]); plt.title('bars')\n"
        "plt.savefig('plot.png')"
    )
    result = client.post("/eval", {"input": code}).json
    assert (result["stdout"], result["status"]) == ("", "ok"), result
    [png] = result["files"]
    assert png["path"] == "plot.png"
    assert base64.b64decode(png["content"]).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.skipif(not CA_BUNDLE, reason="no CA bundle was lent to the build")
def test_ca_bundle_is_not_in_the_image():
    bundle = Path(CA_BUNDLE).read_bytes()
    digest = hashlib.sha256(bundle).hexdigest()
    found = docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        IMAGE,
        "-c",
        f"find / -xdev -type f -size {len(bundle)}c -exec sha256sum {{}} + "
        f"2>/dev/null | grep '^{digest}' || true",
    )
    assert found == "", f"the build's CA bundle is in the image: {found}"
