"""Property-based tests (hypothesis) of path validation and request parsing."""

import json
import os
import posixpath
import tempfile
from pathlib import Path

import falcon.testing
import jsonschema
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from snekbox.api import schemas
from snekbox.api.app import create_app
from snekbox.filesystem import InputFile, InputFileError, RunHome, validate_path

ROOT = "/run/snekbox/runs/0123"

# Text from an alphabet rich in what matters to paths, and paths built from risky parts.
PATH_CHARACTERS = st.sampled_from(list("/.\\\0~ a-_") + ["é", "\u202e", "\ud800", "\U0001f40d"])
path_text = st.text(PATH_CHARACTERS, max_size=40) | st.text(max_size=40)
PARTS = ["..", ".", "", "a", "b", "...", ". .", "..a", "a..", "~", "\0", "\\..", "..\\"]
path_parts = st.builds(
    lambda lead, parts: lead + "/".join(parts),
    st.sampled_from(["", "/", "//"]),
    st.lists(st.sampled_from(PARTS), min_size=1, max_size=8),
)
any_path = path_text | path_parts


def accepted(path: str) -> bool:
    try:
        validate_path(path)
    except InputFileError:
        return False
    return True


@given(any_path)
def test_an_accepted_path_stays_strictly_under_the_root(path):
    if accepted(path):
        joined = posixpath.normpath(posixpath.join(ROOT, path))
        assert joined.startswith(ROOT + "/")
        assert "\0" not in path and not path.startswith("/")
        assert ".." not in path.split("/")
        path.encode("utf-8")  # no lone surrogate reaches the filesystem


@given(any_path, st.sampled_from(["nul", "absolute", "escape"]), st.integers(0, 40))
def test_nul_absolute_and_escaping_paths_are_refused(path, kind, where):
    if kind == "nul":
        where = min(where, len(path))
        bad = path[:where] + "\0" + path[where:]
    elif kind == "absolute":
        bad = "/" + path
    else:
        bad = "../" * (where % 4) + path + "/.." * (path.count("/") + 2)
    assert not accepted(bad)


@given(st.lists(any_path, max_size=12))
@hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_written_inputs_never_land_outside_home(paths):
    with tempfile.TemporaryDirectory(prefix="inputs-") as outer:
        home = Path(outer) / "home"
        home.mkdir()
        (Path(outer) / "outside").write_text("untouched")
        files = [InputFile(p, b"x") for p in paths if accepted(p)]
        try:
            RunHome(home, 1 << 20, 65534).write_inputs(files)
        except InputFileError:
            pass  # clashing paths ("a" and "a/b") are refused, which is fine
        assert sorted(os.listdir(outer)) == ["home", "outside"]
        assert (Path(outer) / "outside").read_text() == "untouched"
        for directory, _, names in os.walk(home):
            for name in names:
                real = os.path.realpath(os.path.join(directory, name))
                assert real.startswith(str(home) + "/")


# Request parsing: well-typed requests with risky values, and anything else JSON can say.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
code = st.sampled_from(
    [
        "print(1)",
        "",
        "1/0",
        "import sys; sys.exit(3)",
        "print(input())",
        "open('out', 'w').write('x')",
        "\0",
        "\ud800",
    ]
) | st.text(max_size=10)
b64_text = st.sampled_from(["", "aGk=", "@@", "aGk", "aGk=\n", "=", "aGk=aGk=", "é"])
fine_numbers = st.sampled_from([0.5, 1, 8 * 2**20, 2**28, 1000, 10**7])
risky_numbers = (
    st.integers(-1, 2**40)
    | st.floats(-1, 1e12, allow_nan=False)
    | st.sampled_from([0, 1e-300, 31, 2**28 + 1, 10**7 + 1, 8 * 2**20 - 1])
)
numbers = st.one_of(fine_numbers, fine_numbers, risky_numbers)
typed_fields = {
    "input": code,
    "args": st.lists(
        st.sampled_from(["-c", "pass", "main.py", "-", "-I", "\0"]) | code, max_size=4
    ),
    "files": st.lists(
        st.fixed_dictionaries({"path": any_path}, optional={"content": b64_text}), max_size=4
    ),
    "stdin": st.text(max_size=20),
    "limits": st.fixed_dictionaries(
        {},
        optional={"time": numbers, "memory": numbers, "output": numbers, "processes": numbers},
    ),
    "executable_path": st.sampled_from(
        ["/snekbin/python/default/bin/python", "/usr/bin/python3", ""]
    ),
    "version": st.sampled_from(["default", "3.12", "nope"]),
}


def bounded_time(document: dict) -> dict:
    """Keep the jobs that do run short: a time limit of at most one second."""
    limits = document.get("limits")
    if isinstance(limits, dict) and isinstance(limits.get("time"), (int, float)):
        return {**document, "limits": {**limits, "time": min(limits["time"], 1)}}
    return {**document, "limits": {**(limits if isinstance(limits, dict) else {}), "time": 1}}


typed_requests = st.fixed_dictionaries(
    {"input": code}, optional={k: v for k, v in typed_fields.items() if k != "input"}
).map(bounded_time) | st.fixed_dictionaries({"input": code, "files": typed_fields["files"]})
loose_requests = st.fixed_dictionaries(
    {}, optional={name: strategy | json_values for name, strategy in typed_fields.items()}
)
documents = typed_requests | loose_requests | json_values


@pytest.fixture(scope="module")
def app_client(jobs, settings):
    return falcon.testing.TestClient(create_app(jobs, settings))


def check_response(result):
    event(f"status {result.status_code}")
    assert result.status_code < 500, (result.status_code, result.text[:300])
    if result.status_code == 200:
        jsonschema.validate(result.json, schemas.EVAL_RESPONSE)
    else:
        jsonschema.validate(result.json, schemas.ERROR)


@given(document=documents)
@hypothesis_settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_random_json_documents_never_give_a_5xx(app_client, document):
    raw = json.dumps(document, allow_nan=True)
    check_response(
        app_client.simulate_post("/eval", body=raw, headers={"Content-Type": "application/json"})
    )


@given(
    raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "text/plain",
            "",
            "APPLICATION/JSON",
            "application/jsonx",
        ]
    ),
)
@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_bytes_never_give_a_5xx(app_client, raw, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    check_response(app_client.simulate_post("/eval", body=raw, headers=headers))
