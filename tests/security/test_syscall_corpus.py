"""The seccomp allowlist against everyday programs (tests/syscall_corpus): each must run to
its end under the real policy, and the standard library's own tests that a job can run
must not fail more under it than under a policy that allows every call."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_server, stop_server

CORPUS = ROOT / "tests" / "syscall_corpus"
PROGRAMS = sorted(CORPUS.glob("*.py"))
STDLIB_TESTS = [p for p in PROGRAMS if p.name.startswith("stdlib_tests_")]
# The scientific stack's imports need more than the defaults; these are the maxima.
LIMITS = {"time": 30, "memory": 268435456}


def _server(environment: dict[str, str]):
    proc, client = start_server(environment)
    yield client
    stop_server(proc)


@pytest.fixture(scope="module")
def allowlisted(job_packages):
    yield from _server({"SNEKBOX_PACKAGES": f"default={job_packages}"})


@pytest.fixture(scope="module")
def unfiltered(job_packages, tmp_path_factory):
    """The same service with the policy's default turned from ENOSYS to allow."""
    policy = (ROOT / "config" / "snekbox.cfg").read_text()
    config = tmp_path_factory.mktemp("policy") / "allow-by-default.cfg"
    config.write_text(re.sub(r"DEFAULT ERRNO\(38\)", "DEFAULT ALLOW", policy))
    yield from _server(
        {"SNEKBOX_PACKAGES": f"default={job_packages}", "SNEKBOX_NSJAIL_CONFIG": str(config)}
    )


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_everyday_program_runs_to_its_end(allowlisted, program):
    body = allowlisted.eval(input=program.read_text(), limits=LIMITS)
    assert (body["status"], body["returncode"]) == ("ok", 0), body["stdout"][-2000:]
    assert body["stdout"].endswith("corpus ok\n")


def _failed_tests(client, program: Path) -> set[str]:
    body = client.eval(input=program.read_text(), limits=LIMITS)
    assert body["stdout"].endswith("corpus ok\n"), body["stdout"][-2000:]
    return {line for line in body["stdout"].splitlines() if line.startswith("failed:")}


@pytest.mark.parametrize("program", STDLIB_TESTS, ids=lambda p: p.stem)
def test_the_allowlist_makes_no_standard_library_test_fail(allowlisted, unfiltered, program):
    assert _failed_tests(allowlisted, program) == _failed_tests(unfiltered, program)
