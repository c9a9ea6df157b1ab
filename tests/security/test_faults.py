"""Faults on the host side: a broken nsjail at start-up, a worker killed mid-request, a full
/home, a failed mount. Each ends in a clear error or a clean answer, never a crash."""

import shutil

from snekbox.jail import find_nsjail
from tests.api.test_startup import failed_start


def test_nsjail_that_is_not_executable_stops_the_server(tmp_path, settings):
    copy = tmp_path / "nsjail"
    shutil.copy(find_nsjail(settings.nsjail_path), copy)
    copy.chmod(0o644)
    said = failed_start({"SNEKBOX_NSJAIL_PATH": str(copy)})
    assert "no executable nsjail" in said and str(copy) in said
