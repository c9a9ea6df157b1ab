"""Judging: one program run on many test cases, each in a fresh jail, its output compared
with the expected one."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import threading
import time
from collections.abc import Callable

from snekbox.jail import Cancelled, RunSpec, Watch
from snekbox.result import EvalResult, Status

# Characters of each line a wrong answer's difference shows.
MAX_SHOWN = 200


class Compare(enum.StrEnum):
    """How a case's output is compared with the expected output."""

    EXACT = "exact"
    TRAILING_WHITESPACE = "trailing_whitespace"  # trailing spaces and blank lines ignored
    TOKENS = "tokens"  # the same words, however spaced


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong_answer"
    TIMEOUT = "timeout"
    OOM = "oom"
    OUTPUT_LIMIT = "output_limit"
    RUNTIME_ERROR = "runtime_error"
    INTERNAL_ERROR = "internal_error"


_VERDICT_OF_STATUS = {
    Status.TIMEOUT: Verdict.TIMEOUT,
    Status.OOM: Verdict.OOM,
    Status.OUTPUT_LIMIT: Verdict.OUTPUT_LIMIT,
    Status.ERROR: Verdict.RUNTIME_ERROR,
    Status.SIGNAL: Verdict.RUNTIME_ERROR,
    Status.INTERNAL_ERROR: Verdict.INTERNAL_ERROR,
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One test case: the run, and the output expected of it (None: any output passes)."""

    spec: RunSpec
    name: str | None = None
    expected: str | None = None


@dataclasses.dataclass(frozen=True)
class JudgeSpec:
    cases: tuple[Case, ...]
    compare: Compare


@dataclasses.dataclass(frozen=True)
class Difference:
    """The first line (1-based) where the outputs differ; None where one has no such line."""

    line: int
    expected: str | None
    actual: str | None


@dataclasses.dataclass(frozen=True)
class Judged:
    """A case's result and verdict; `index` is its place in the request."""

    index: int
    case: Case
    result: EvalResult
    verdict: Verdict
    difference: Difference | None = None

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "name": self.case.name,
            "verdict": self.verdict.value,
            "difference": None if self.difference is None else dataclasses.asdict(self.difference),
            **{name: value for name, value in self.result.to_json().items() if name != "files"},
        }


def difference(expected: str, actual: str, compare: Compare) -> Difference | None:
    """Where `actual` first differs from `expected` under `compare`; None if it does not."""
    want, got = expected.split("\n"), actual.split("\n")
    if compare is Compare.TOKENS:
        if expected.split() == actual.split():
            return None
        return _first_token_difference(want, got)
    if compare is Compare.TRAILING_WHITESPACE:
        want, got = _trimmed(want), _trimmed(got)
    for number in range(max(len(want), len(got))):
        line_wanted, line_got = _line(want, number), _line(got, number)
        if line_wanted != line_got:
            return Difference(number + 1, _shown(line_wanted), _shown(line_got))
    return None


def _trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _first_token_difference(want: list[str], got: list[str]) -> Difference:
    """The lines holding the first token that differs, numbered as in the actual output."""
    tokens_wanted = [(number, t) for number, line in enumerate(want) for t in line.split()]
    tokens_got = [(number, t) for number, line in enumerate(got) for t in line.split()]
    pairs = zip(tokens_wanted, tokens_got, strict=False)
    index = next(
        (i for i, (a, b) in enumerate(pairs) if a[1] != b[1]),
        min(len(tokens_wanted), len(tokens_got)),
    )
    line_wanted = tokens_wanted[index][0] if index < len(tokens_wanted) else len(want)
    line_got = tokens_got[index][0] if index < len(tokens_got) else len(got)
    return Difference(line_got + 1, _shown(_line(want, line_wanted)), _shown(_line(got, line_got)))


def _line(lines: list[str], number: int) -> str | None:
    return lines[number] if number < len(lines) else None


def _shown(line: str | None) -> str | None:
    return None if line is None else line[:MAX_SHOWN]


def judge(index: int, case: Case, result: EvalResult, compare: Compare) -> Judged:
    """The verdict on a case's result."""
    if result.status is not Status.OK:
        return Judged(index, case, result, _VERDICT_OF_STATUS[result.status])
    found = None if case.expected is None else difference(case.expected, result.stdout, compare)
    if found is not None:
        return Judged(index, case, result, Verdict.WRONG_ANSWER, found)
    return Judged(index, case, result, Verdict.ACCEPTED)


def run_cases(
    run: Callable[[RunSpec, Watch], EvalResult],
    spec: JudgeSpec,
    at_once: int,
    started: threading.Event,
    cancel: threading.Event,
    on_judged: Callable[[Judged], None] = lambda judged: None,
) -> tuple[list[Judged], float]:
    """Run every case with `run` (each in a jail of its own), `at_once` at a time; call
    `on_judged` as each is judged; the verdicts in the request's order and the seconds it
    all took. Setting `cancel` stops them all (Cancelled); what one case raises (JobError)
    stops the others and is raised."""
    began = time.monotonic()

    def one(index: int, case: Case) -> Judged:
        result = run(case.spec, Watch(started=started, cancel=cancel))
        # A judge compares output: the files a case leaves are not kept (up to a /home each).
        judged = judge(index, case, dataclasses.replace(result, files=()), spec.compare)
        on_judged(judged)
        return judged

    with concurrent.futures.ThreadPoolExecutor(at_once, thread_name_prefix="judge") as pool:
        futures = [pool.submit(one, index, case) for index, case in enumerate(spec.cases)]
        try:
            judged = [future.result() for future in futures]
        except BaseException:
            cancel.set()
            raise
    if cancel.is_set():
        raise Cancelled("the judging was cancelled")
    return judged, time.monotonic() - began
