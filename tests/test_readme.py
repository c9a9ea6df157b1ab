"""README's examples, run: every command in its sh blocks, and every sample answer set
against what a real server answers, so that README cannot drift from the service.

A command is run here when it talks to a server (curl, the `snekbox` command, nsjpy);
the few that set up machines or clusters are run by CI or another test instead, and
ELSEWHERE says which, so that a new kind of command in README fails this test until it is
run somewhere.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, start_server, stop_server

README = (ROOT / "README.md").read_text()
ELSEWHERE = {
    "scripts/setup": "by scripts/test, CI's first step",
    "scripts/test": "by CI (.ci/run)",
    "scripts/serve": "here, by test_the_quick_start_serves; with SNEKBOX_RUNTIMES and "
    "SNEKBOX_PACKAGES set, by tests/api/test_features.py and "
    "tests/security/test_syscall_corpus.py",
    "scripts/cgroup2-check": "by CI (.ci/run)",
    "scripts/docker-smoke": "by CI (.ci/run)",
    "scripts/soak": "by tests/security/test_soak.py (--short)",
    "scripts/packages": "by the job_packages fixture (tests/conftest.py)",
    "scripts/trace-syscalls": "by hand when the allowlist is re-derived (SECURITY.md)",
    "snekbox bench": "by hand: it takes two minutes (README's benchmark table)",
    "snekbox mcp": "by tests/api/test_mcp.py, over stdio as README's agent configuration "
    "says, and with --http",
    "docker": "by scripts/docker-smoke, in CI",
    "docker-compose": "by scripts/docker-smoke, in CI",
    "kubectl": "nowhere: tests/deploy/test_manifests.py validates what it would apply",
    "pipenv": "by scripts/test (the same ruff and mypy) and scripts/setup",
    ".venv/bin/python": "by scripts/test: the whole suite holds tests/http",
}


def commands() -> list[tuple[str, str]]:
    """(command, sample answer) for each command in README's sh blocks. A command runs on
    over lines until its quotes close; the `# ` lines right after it are its answer, unless
    another command follows them at once (then they introduce that one)."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        command, comments = "", []
        for line in block.splitlines() + [""]:
            if command and not _complete(command):
                command += "\n" + line
            elif line.startswith("#"):
                comments.append(line[2:])
            elif line.strip():
                if command:
                    found.append((command, ""))
                command, comments = line, []
            elif command:
                found.append((command, "\n".join(comments)))
                command, comments = "", []
    return found


def _complete(command: str) -> bool:
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def program(command: str) -> str:
    """What a command runs: its first words after any VAR=value assignments."""
    words = [w for w in shlex.split(command, comments=True) if not re.match(r"\w+=", w)]
    name = Path(words[0]).name
    return f"{name} {words[1]}" if name == "snekbox" else words[0]


COMMANDS = commands()
CURL = [(c, s) for c, s in COMMANDS if program(c) == "curl"]


def test_every_command_is_run_somewhere():
    runs_here = {"curl", ".", "nsjpy", "snekbox run", "snekbox serve"}
    unrun = {program(c) for c, _ in COMMANDS} - runs_here - set(ELSEWHERE)
    assert not unrun, f"README commands that no test or CI step runs: {unrun}"


@pytest.fixture(scope="module")
def served():
    proc, client = start_server()
    yield f"{client.host}:{client.port}"
    stop_server(proc)


def matches(sample: str, answer: dict) -> None:
    """Each field the sample shows is in the answer with that value (`...` stands for the
    fields left out; a duration is any number, as it differs from run to run)."""
    _same(json.loads(re.sub(r"\s*\.\.\.,?|,\s*\.\.\.", "", sample)), answer)


def _same(shown: object, answer: object, name: str = "") -> None:
    if name == "duration":
        assert isinstance(answer, (int, float))
    elif isinstance(shown, dict):
        assert isinstance(answer, dict), (shown, answer)
        for field, value in shown.items():
            _same(value, answer[field], field)
    elif isinstance(shown, list):
        assert isinstance(answer, list) and len(answer) == len(shown), (shown, answer)
        for value, given in zip(shown, answer, strict=True):
            _same(value, given)
    else:
        assert answer == shown, (name, answer)


def events_match(sample: str, answer: str) -> None:
    """Server-sent events as a sample shows them: the same events, each data matching as
    JSON; the text of the `output` events joined, as a job's writes may be read in one."""

    def parsed(text: str) -> tuple[str, list[tuple[str, str]]]:
        events = [block.split("\n") for block in text.strip().split("\n\n")]
        pairs = [
            (name.removeprefix("event: "), data.removeprefix("data: ")) for name, data in events
        ]
        output = "".join(json.loads(data)["text"] for name, data in pairs if name == "output")
        return output, [(name, data) for name, data in pairs if name != "output"]

    (shown_output, shown), (output, given) = parsed(sample), parsed(answer)
    assert output == shown_output
    assert [name for name, _ in given] == [name for name, _ in shown]
    for (_, shown_data), (_, data) in zip(shown, given, strict=True):
        matches(shown_data, json.loads(data))


@pytest.mark.parametrize("command,sample", CURL, ids=[c.split("\n")[0][:60] for c, _ in CURL])
def test_curl_examples_answer_as_shown(served, command, sample):
    done = subprocess.run(
        ["bash", "-c", command.replace("localhost:8060", served)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert sample, f"show what {command!r} answers"
    if sample.startswith("event: "):
        events_match(sample, done.stdout)
    else:
        matches(sample, json.loads(done.stdout))


def test_sample_answers_of_other_endpoints(served):
    """The ```json blocks: GET /runtimes as a default install answers it."""
    [runtimes] = re.findall(r"```json\n(.*?)```", README, re.S)
    done = subprocess.run(
        ["curl", "-s", f"{served}/runtimes"], capture_output=True, text=True, timeout=60, check=True
    )
    shown, answer = json.loads(runtimes), json.loads(done.stdout)
    assert [r["name"] for r in shown["runtimes"]] == [r["name"] for r in answer["runtimes"]]
    for shown_runtime, runtime in zip(shown["runtimes"], answer["runtimes"], strict=True):
        assert {**shown_runtime, "version": runtime["version"]} == runtime


def test_the_shell_examples_that_run_code_in_the_jail():
    """nsjpy and `snekbox run`, as README shows them, in an interactive bash (where `!`
    in double quotes would expand history)."""
    for command, sample in COMMANDS:
        if program(command) not in ("nsjpy", "snekbox run"):
            continue
        script = f"set -H\nshopt -s expand_aliases\n. {ROOT}/scripts/.profile\n{command}\n"
        done = subprocess.run(
            ["bash", "-c", script], cwd="/", capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (command, done.stderr)
        if sample:
            assert done.stdout == sample + "\n"


def test_the_quick_start_serves(tmp_path: Path):
    """`scripts/serve` on loopback as README gives it, on a port of this test's own."""
    [serve] = [c for c, _ in COMMANDS if c.startswith("scripts/serve ") and "127.0.0.1" in c]
    port = str(free_port())
    command = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", serve.split("#")[0])
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["bash", "-c", "exec " + command.strip().rstrip("&")],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = subprocess.run(
                ["curl", "-s", f"127.0.0.1:{port}/health"], capture_output=True, text=True
            )
            if '"status": "ok"' in done.stdout:
                break
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.5)
        else:
            pytest.fail("scripts/serve did not become healthy: " + log.read_text()[-2000:])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
