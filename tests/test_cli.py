"""`snekbox run` (and so `python -m snekbox run` and the nsjpy alias) runs code in the same
jail as the service, without HTTP."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_module_prints_output_and_exits_with_job_code():
    code = "import os, sys; print(os.getuid()); sys.exit(4)"
    proc = subprocess.run(
        [sys.executable, "-m", "snekbox", "run", code],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.stdout, proc.returncode) == ("65534\n", 4)


def test_module_reports_a_timeout():
    snekbox = ROOT / ".venv" / "bin" / "snekbox"
    proc = subprocess.run(
        [snekbox, "run", "import time; time.sleep(9)"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        env={"SNEKBOX_TIME_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 137
    assert "timeout" in proc.stderr


def test_nsjpy_alias():
    script = f"shopt -s expand_aliases\nsource {ROOT}/scripts/.profile\nnsjpy \"print('hi')\"\n"
    proc = subprocess.run(
        ["bash", "-c", script], cwd="/", capture_output=True, text=True, timeout=60
    )
    assert (proc.stdout, proc.returncode) == ("hi\n", 0)
