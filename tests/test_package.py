"""The project installs as a package: `pip install .` into a fresh venv gives a working
`snekbox` command, with the jail policy, the settings' defaults and the playground's files
inside the package."""

import subprocess
import sys

from tests.conftest import ROOT

# Run by the installed package: the names of the files its playground serves.
PLAYGROUND_FILES = (
    "from snekbox.api.resources.playground import PlaygroundResource;"
    "print(*PlaygroundResource().files)"
)


def test_pip_install_gives_a_working_snekbox_command(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", ROOT],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [venv / "bin" / "snekbox", "run", "print(6 * 7)"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "SNEKBOX_POOL_SIZE": "0"},
    )
    assert (done.stdout, done.returncode) == ("42\n", 0), done.stderr
    page = subprocess.run(
        [venv / "bin" / "python", "-c", PLAYGROUND_FILES],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert page.stdout.split() == ["playground.html", "playground.js", "playground.css"], (
        page.stderr
    )
