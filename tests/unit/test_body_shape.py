"""The count of strings and values that bounds a request body before it is parsed."""

import json

import falcon
import pytest

from snekbox.api.body import Shape, check_shape

ROOMY = Shape(strings=10, separators=10)


@pytest.mark.parametrize(
    "text",
    ['"' * 1000, "\\" * 1001, '\\"' * 500, ",[{" * 1000, '\\\\"],["' * 300, "é\n\t\u2028" * 100],
)
def test_text_of_any_kind_counts_as_one_string(text):
    raw = json.dumps({"input": text, "args": ["-c", text]}).encode()
    check_shape(raw, ROOMY)
    check_shape(json.dumps({"input": text}, ensure_ascii=False).encode(), ROOMY)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"input": "1", "x": ["a", "b", "c", "d", "e"]}',
        b'{"input": "1", "x": [[], [], [], [], [], [], [], [], []]}',
        b'{"input": "1", "x": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}',
        b'{"input": "\\\\", "x": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}',
    ],
)
def test_values_beyond_the_shape_are_413(raw):
    with pytest.raises(falcon.HTTPContentTooLarge):
        check_shape(raw, Shape(strings=6, separators=8))
