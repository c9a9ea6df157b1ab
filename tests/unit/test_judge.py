"""The comparison of a case's output with the expected one, and the verdict on a result."""

from __future__ import annotations

import pytest

from snekbox.jail import RunSpec
from snekbox.jobs.judge import MAX_SHOWN, Case, Compare, Difference, Verdict, difference, judge
from snekbox.result import EvalResult, Status

EXACT, TRAILING, TOKENS = Compare.EXACT, Compare.TRAILING_WHITESPACE, Compare.TOKENS


@pytest.mark.parametrize(
    ("expected", "actual", "compare"),
    [
        ("1\n2\n", "1\n2\n", EXACT),
        ("1\n2\n", "1  \n2\t\n\n\n", TRAILING),
        ("1\n2", "1\n2\n", TRAILING),
        ("a b\nc", "a\n  b c\n", TOKENS),
        ("", "\n \n", TRAILING),
        ("", "", EXACT),
    ],
)
def test_outputs_that_match(expected, actual, compare):
    assert difference(expected, actual, compare) is None


@pytest.mark.parametrize(
    ("expected", "actual", "compare", "found"),
    [
        ("1\n2\n", "1\n2", EXACT, Difference(3, "", None)),  # no final newline
        ("1\n2\n", "1\n2  \n", EXACT, Difference(2, "2", "2  ")),
        ("1\n2\n", "1\n3\n", TRAILING, Difference(2, "2", "3")),
        ("1\n2\n", "1\n", TRAILING, Difference(2, "2", None)),
        ("1\n", "1\n2\n", TRAILING, Difference(2, None, "2")),
        (" 1\n", "1\n", TRAILING, Difference(1, " 1", "1")),  # leading spaces count
        ("a b\nc d", "a b c\nx", TOKENS, Difference(2, "c d", "x")),
        ("a b", "a", TOKENS, Difference(2, "a b", None)),
        ("a", "a b", TOKENS, Difference(1, None, "a b")),
    ],
)
def test_the_first_difference(expected, actual, compare, found):
    assert difference(expected, actual, compare) == found


def test_a_difference_shows_bounded_lines():
    found = difference("x" * 10_000, "y" * 10_000, EXACT)
    assert found is not None
    assert (len(found.expected), len(found.actual)) == (MAX_SHOWN, MAX_SHOWN)


def result(status: Status, stdout: str = "") -> EvalResult:
    return EvalResult(stdout=stdout, returncode=0, status=status)


SPEC = RunSpec.__new__(RunSpec)  # the verdict never looks at the run


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (Status.TIMEOUT, Verdict.TIMEOUT),
        (Status.OOM, Verdict.OOM),
        (Status.OUTPUT_LIMIT, Verdict.OUTPUT_LIMIT),
        (Status.ERROR, Verdict.RUNTIME_ERROR),
        (Status.SIGNAL, Verdict.RUNTIME_ERROR),
        (Status.INTERNAL_ERROR, Verdict.INTERNAL_ERROR),
    ],
)
def test_a_run_that_failed_has_its_verdict_whatever_it_printed(status, verdict):
    case = Case(SPEC, expected="ok\n")
    assert judge(0, case, result(status, "ok\n"), TRAILING).verdict is verdict


def test_a_successful_run_is_compared_or_accepted():
    assert judge(0, Case(SPEC), result(Status.OK, "x"), EXACT).verdict is Verdict.ACCEPTED
    wrong = judge(3, Case(SPEC, "c", "y"), result(Status.OK, "x"), EXACT)
    assert (wrong.verdict, wrong.difference) == (Verdict.WRONG_ANSWER, Difference(1, "y", "x"))
    assert wrong.to_json()["index"] == 3
    assert wrong.to_json()["difference"] == {"line": 1, "expected": "y", "actual": "x"}
