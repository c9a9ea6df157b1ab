"""The CI-sized soak: scripts/soak --short against a fresh server of its own."""

import subprocess
import time

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_short_soak_passes():
    start = time.monotonic()
    proc = subprocess.run(
        [ROOT / "scripts" / "soak", "--short", "--seed", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "every answer right, nothing left behind" in proc.stdout
    assert time.monotonic() - start < 60
