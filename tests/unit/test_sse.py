"""Server-sent events framing: whatever a job writes, each event is three lines."""

from __future__ import annotations

import json

import falcon.testing
import pytest

from snekbox.api import sse


@pytest.mark.parametrize(
    "text",
    [
        "one\ntwo\nthree",
        "carriage\rreturn\r\n",
        "\n\n\n",
        "",
        "data: event: \n\nid: 1\n",
        "\ufffd invalid UTF-8 once decoded",
        bytes(range(256)).decode("utf-8", "replace"),
        "\x00\x1b[31m\u2028\u2029",
    ],
)
def test_each_event_is_one_name_line_one_data_line_and_an_empty_line(text):
    event = sse.event("output", {"text": text})
    name, data, empty, end = event.split(b"\n")
    assert (name, empty, end) == (b"event: output", b"", b"")
    assert b"\r" not in event
    assert data.startswith(b"data: ")
    assert json.loads(data[len(b"data: ") :]) == {"text": text}


def test_pieces_of_json_are_framed_as_one_event():
    pieces = [b'{"a": ', b'"b"', b"}"]
    assert b"".join(sse.framed("result", pieces)) == b'event: result\ndata: {"a": "b"}\n\n'


@pytest.mark.parametrize(
    ("accept", "events"),
    [
        ("text/event-stream", True),
        ("text/event-stream, application/json", True),  # the playground's
        ("application/json, text/event-stream", True),
        ("text/event-stream; charset=utf-8", True),
        ("*/*", False),
        ("text/*", False),
        ("application/json", False),
        ("text/event-stream;q=0.5, application/json", False),
        ("text/event-stream;q=0", False),
    ],
)
def test_events_are_sent_only_when_the_client_names_them(accept, events):
    assert sse.wanted(falcon.testing.create_req(headers={"Accept": accept})) is events
