"""The start-up warning about a host core_pattern that undoes RLIMIT_CORE=0."""

import pytest

from snekbox.jail import core_pattern_warning


@pytest.mark.parametrize(
    "pattern,handler",
    [
        ("|/usr/lib/systemd/systemd-coredump %P %u %g", "/usr/lib/systemd/systemd-coredump"),
        ("|/usr/share/apport/apport -p%p", "/usr/share/apport/apport"),
        ("|", "a program"),
    ],
)
def test_a_core_pattern_that_pipes_is_warned_about(pattern, handler):
    assert handler in core_pattern_warning(pattern)


@pytest.mark.parametrize("pattern", ["core", "/var/crash/core.%p", ""])
def test_a_core_pattern_that_writes_files_is_fine(pattern):
    assert core_pattern_warning(pattern) is None
