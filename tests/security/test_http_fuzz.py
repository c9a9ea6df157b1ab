"""A raw-socket HTTP fuzzer (hypothesis) against a real server on loopback.

Each example opens one connection and sends one to four requests on it at once
(pipelined), then half-closes it: well-formed requests, and requests with an odd request
line, odd headers (names, duplicates, huge values, obs-fold, bare LF, NULs, conflicting
Content-Length and Transfer-Encoding), odd chunked framing (sizes, extensions, missing
CRLF, trailers) or odd JSON in a field of /eval. What must hold:

- no answer is a 5xx, and the server logs no traceback;
- up to the first odd request, every request gets its own correct answer, in order (the
  first odd one may be answered or not, but a 4xx or a correct answer if it is);
- after each example, a hello world is answered at once on a new connection.
"""

from __future__ import annotations

import json
import re
import socket
import time
import typing

import pytest
from hypothesis import HealthCheck, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import server_log, start_server, stop_server


class Request(typing.NamedTuple):
    raw: bytes
    well_formed: bool
    number: int | None  # what a good answer prints (/eval); None: any 2xx will do
    framed: bool  # where it ends is plain (an odd JSON body), so the next one is answered


STATUS_LINE = re.compile(rb"(?:^|\r\n)HTTP/\d\.\d (\d{3})")


@pytest.fixture(scope="module")
def fuzzed():
    proc, client = start_server({"SNEKBOX_REQUEST_TIMEOUT": "5"})
    yield proc, client, {"log seen": 0}
    stop_server(proc)
    assert "Traceback" not in server_log(proc)


# --- well-formed requests -------------------------------------------------------------


def eval_body(number: int) -> bytes:
    return json.dumps({"input": f"print({number})"}).encode()


def chunked(body: bytes, cuts: list[int]) -> bytes:
    pieces, start = [], 0
    for cut in sorted({c % (len(body) + 1) for c in cuts} | {len(body)}):
        if cut > start:
            pieces.append(b"%x\r\n%s\r\n" % (cut - start, body[start:cut]))
            start = cut
    return b"".join(pieces) + b"0\r\n\r\n"


@st.composite
def good_requests(draw) -> Request:
    if draw(st.integers(0, 3)) == 0:
        return Request(b"GET /runtimes HTTP/1.1\r\nHost: x\r\n\r\n", True, None, True)
    number = draw(st.integers(0, 10**6))
    body = eval_body(number)
    head = b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if draw(st.booleans()):
        cuts = draw(st.lists(st.integers(0, 100), max_size=4))
        raw = head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body, cuts)
    else:
        raw = head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    return Request(raw, True, number, True)


# --- odd requests ---------------------------------------------------------------------

METHODS = [
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "TRACE",
    "CONNECT",
    "HEAD",
    "post",
    "P OST",
    "POST\x00",
    "GÉT",
    "",
    "-",
    "#",
]
TARGETS = [
    "/eval",
    "/judge",
    "/runtimes",
    "/metrics",
    "/openapi.json",
    "/nope",
    "*",
    "//eval",
    "/eval?x=1&x=2",
    "/%00",
    "/%ff",
    "http://x/eval",
    "eval",
    "/\x00",
    "/é",
    "/" + "a" * 5000,
    "/eval#frag",
    "/../eval",
    "",
]
VERSIONS = [
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2.0",
    "HTTP/1.10",
    "HTTP/0.9",
    "http/1.1",
    "HTTP/1.1 ",
    "HTTP/1",
    "HTTP/",
    "",
    "HTTP/1.1\x00",
]
NAMES = [
    "Host",
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Expect",
    "X-Request-ID",
    "Authorization",
    "Upgrade",
    "Trailer",
    "TE",
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "Accept",
    "Content-Encoding",
    "Range",
    "X Y",
    "X:Y",
    "",
    "X\x00",
    "Ä",
    "X\tY",
    "(x)",
    " Host",
    "Host ",
    "content-length",
    "a" * 9000,
]
VALUES = [
    "",
    " ",
    "x",
    "a" * 9000,
    "\x00",
    "\r",
    "é",
    "chunked",
    "gzip, chunked",
    "chunked, gzip",
    "identity",
    "chunked, chunked",
    "Chunked",
    " chunked",
    "gzip",
    "100-continue",
    "close",
    "keep-alive",
    "Upgrade",
    "h2c",
    "-1",
    "0",
    "1e3",
    "0x10",
    "+5",
    " 5",
    "5, 5",
    "5,6",
    "99999999999999999999999",
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "Bearer x",
    "bytes=0-1",
]
LINE_ENDS = ["\r\n", "\r\n", "\n", "\r", "\r\r\n"]

text = st.text(st.characters(codec="utf-8"), max_size=30)


def enc(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


@st.composite
def odd_request_line(draw) -> bytes:
    method = draw(st.sampled_from(METHODS) | text)
    target = draw(st.sampled_from(TARGETS) | text.map(lambda t: "/" + t))
    version = draw(st.sampled_from(VERSIONS))
    gaps = draw(st.lists(st.sampled_from([" ", " ", "  ", "\t", ""]), min_size=2, max_size=2))
    return enc(method + gaps[0] + target + gaps[1] + version + draw(st.sampled_from(LINE_ENDS)))


@st.composite
def odd_headers(draw) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(NAMES) | text)
        value = draw(st.sampled_from(VALUES) | text)
        colon = draw(st.sampled_from([": ", ":", " : ", ":\t", "::", ""]))
        end = draw(st.sampled_from(LINE_ENDS))
        line = name + colon + value + end
        if draw(st.integers(0, 5)) == 0:  # obs-fold
            line += draw(st.sampled_from([" ", "\t"])) + draw(st.sampled_from(VALUES)) + end
        lines.append(enc(line))
    return b"".join(lines)


@st.composite
def framed_body(draw, body: bytes) -> tuple[bytes, bytes]:
    """Framing headers and the body as sent, perhaps with conflicting or odd framing."""
    kind = draw(
        st.sampled_from(
            ["length", "chunked", "both", "two lengths", "odd chunks", "none", "wrong length"]
        )
    )
    if kind == "length":
        return b"Content-Length: %d\r\n" % len(body), body
    if kind == "wrong length":
        return b"Content-Length: %d\r\n" % draw(st.integers(0, len(body) * 2)), body
    if kind == "two lengths":
        other = draw(st.integers(0, len(body) + 5))
        return b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), other), body
    if kind == "none":
        return b"", body
    framing = b"Transfer-Encoding: chunked\r\n"
    if kind == "both":
        framing += b"Content-Length: %d\r\n" % draw(st.integers(0, len(body) + 50))
    if kind != "odd chunks":
        return framing, chunked(body, draw(st.lists(st.integers(0, 100), max_size=3)))
    chunks = []
    for piece in (body[: len(body) // 2], body[len(body) // 2 :]):
        size = draw(
            st.sampled_from(
                [
                    f"{len(piece):x}",
                    f"{len(piece):X}",
                    "-1",
                    "0x5",
                    " 5",
                    "ffffffffffffffffffff",
                    f"{len(piece):x} ",
                    "",
                    "g",
                    f"{len(piece) + 3:x}",
                    "0" * 50 + f"{len(piece):x}",
                ]
            )
        )
        ext = draw(
            st.sampled_from(
                [
                    "",
                    ";a=b",
                    ';a="q\\"x"',
                    ";",
                    "; a = b",
                    ";a=b;c",
                    ";" + "a" * 9000,
                    ";a=\x00",
                    ";a=\r",
                ]
            )
        )
        end = draw(st.sampled_from(["\r\n", "\r\n", "\n", "", "\r"]))
        after = draw(st.sampled_from(["\r\n", "\n", ""]))
        chunks.append(enc(size + ext + end) + piece + enc(after))
    trailer = draw(
        st.sampled_from(
            [
                "",
                "X: y\r\n",
                "Content-Length: 5\r\n",
                "X: y\n",
                "X: y\r\n z\r\n",
                "X y\r\n",
                "a" * 9000 + ": y\r\n",
            ]
        )
    )
    last = draw(st.sampled_from(["0\r\n", "0;x=y\r\n", "00\r\n", "0\n", ""]))
    return framing, b"".join(chunks) + enc(last + trailer + draw(st.sampled_from(["\r\n", ""])))


def nested(depth: int, kind: str) -> str:
    return {"list": "[" * depth + "]" * depth, "dict": '{"a":' * depth + "1" + "}" * depth}[kind]


ODD_VALUES = st.one_of(
    st.builds(nested, st.sampled_from([1, 2, 50, 3000, 100000]), st.sampled_from(["list", "dict"])),
    st.sampled_from(
        [
            "1" + "0" * 5000,
            "-1e999",
            "1e999",
            "NaN",
            "-Infinity",
            "null",
            "true",
            '"\\ud800"',
            '"\\u0000"',
            '"' + "\\" * 4 + '"',
            "[]",
            "{}",
            "-0",
            "0.5e-5",
            '"' + "x" * 140000 + '"',
            "[" + "1," * 5000 + "1]",
        ]
    ),
)
FIELDS = [
    "input",
    "args",
    "files",
    "executable_path",
    "version",
    "stdin",
    "limits",
    "x",
    "limits.time",
    "limits.memory",
    "limits.output",
    "limits.processes",
    "files.path",
    "files.content",
]


@st.composite
def odd_json(draw, number: int) -> tuple[bytes, bool]:
    """A /eval body printing `number`, but odd as a whole (encodings, duplicates, trailing
    bytes: if it runs, it prints the number), or with an odd value in one field (which
    may be valid and change what runs, e.g. `"args": []`); and whether it prints it."""
    base = eval_body(number)
    kind = draw(st.sampled_from(["field"] * 4 + ["whole"]))
    if kind == "whole":
        return draw(
            st.sampled_from(
                [
                    b"\xef\xbb\xbf" + base,
                    base.decode().encode("utf-16"),
                    base + b"garbage",
                    base[:-1],
                    b"",
                    b"null",
                    b"[]",
                    b'"x"',
                    b"1",
                    base.replace(b"{", b'{"input": 1, '),
                    base.replace(b"}", b', "input": "print(%d)"}' % number),
                    base.replace(b"print", b"\\u0070rint"),
                    b"{" * 100000,
                    base.replace(b'"', b"'"),
                    base + b"\x00",
                    b"\x00" + base,
                ]
            )
        ), True
    field, value = draw(st.sampled_from(FIELDS)), draw(ODD_VALUES)
    outer, _, inner = field.partition(".")
    if outer == "limits" and inner:
        extra = f'"limits": {{"{inner}": {value}}}'
    elif outer == "files" and inner:
        other = '"path": "a"' if inner == "content" else '"content": ""'
        extra = f'"files": [{{"{inner}": {value}, {other}}}]'
    else:
        extra = f'"{outer}": {value}'
    return enc(base.decode()[:-1] + ", " + extra + "}"), False


@st.composite
def odd_requests(draw) -> Request:
    number = draw(st.integers(0, 10**6))
    part = draw(st.sampled_from(["line", "headers", "framing", "json"]))
    line = draw(odd_request_line()) if part == "line" else b"POST /eval HTTP/1.1\r\n"
    body, prints = draw(odd_json(number)) if part == "json" else (eval_body(number), True)
    headers = b"Host: x\r\nContent-Type: application/json\r\n"
    if part == "headers":
        odd = draw(odd_headers())
        headers = odd + headers if draw(st.booleans()) else headers + odd
    framing, sent = (
        draw(framed_body(body))
        if part == "framing"
        else (b"Content-Length: %d\r\n" % len(body), body)
    )
    if part == "headers" and draw(st.booleans()):
        framing = b""  # the odd headers may carry their own
    return Request(
        line + headers + framing + b"\r\n" + sent, False, number if prints else None, part == "json"
    )


# --- talking to the server --------------------------------------------------------------


def exchange(client, payload: bytes, answers_due: int) -> bytes:
    """Send everything, read until `answers_due` answers are in while the connection stays
    open (a server must not wait for the client's end to answer pipelined requests), then
    half-close and read all the rest, until the server closes."""
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        try:
            sock.sendall(payload)
        except OSError:
            pass  # the server may close before it has read everything (a 4xx at once)
        received = b""
        try:
            while len(parse_responses(received)) < answers_due:  # or the server closes
                if not (chunk := sock.recv(1 << 16)):
                    break
                received += chunk
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(1 << 16):
                received += chunk
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass
    return received


def parse_responses(data: bytes) -> list[tuple[int, bytes]]:
    """(status, headers, body) of each final response, in order; stops where it cannot
    parse."""
    responses = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head, data = data[:end].split(b"\r\n"), data[end + 4 :]
        status = int(head[0].split()[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in head[1:])
        }
        if 100 <= status < 200:
            continue
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = b""
            while True:
                line_end = data.find(b"\r\n")
                size = int(data[:line_end].split(b";")[0], 16)
                body += data[line_end + 2 : line_end + 2 + size]
                data = data[line_end + 2 + size + 2 :]
                if size == 0:
                    break
        elif b"content-length" in headers:
            length = int(headers[b"content-length"])
            body, data = data[:length], data[length:]
        else:
            body, data = data, b""
        responses.append((status, headers, body))
    return responses


def assert_answer_fits(request: Request, status: int, body: bytes) -> None:
    number = request.number
    if request.well_formed:
        assert status == 200, (status, body[:300])
    elif not 200 <= status < 300:
        assert 400 <= status < 500, (status, body[:300])
        return
    if status == 200 and body.startswith(b'{"stdout"'):
        answer = json.loads(body)
        assert number is None or answer["stdout"] == f"{number}\n", answer
        assert answer["status"] != "internal_error", answer


@hypothesis_settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(st.lists(good_requests() | odd_requests(), min_size=1, max_size=4))
def test_every_request_gets_a_4xx_or_its_answer_in_order(fuzzed, requests):
    note(f"sent {[r.raw[:2000] for r in requests]}")
    check_connection(fuzzed, requests)


def eval_request(number: int, framing: bytes = b"", body: bytes | None = None) -> bytes:
    body = eval_body(number) if body is None else body
    framing = framing or b"Content-Length: %d\r\n" % len(body)
    return (
        b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n"
        + body
    )


# What the fuzzer found, each kept as a plain example.
FOUND = {
    # gunicorn 23 answered the first request only, unless the client closed its end.
    "pipelined": [
        Request(eval_request(1), True, 1, True),
        Request(eval_request(2), True, 2, True),
        Request(b"GET /runtimes HTTP/1.1\r\nHost: x\r\n\r\n", True, None, True),
    ],
    # gunicorn 27 answers an unknown transfer coding with 501.
    "unknown transfer coding": [
        Request(eval_request(3, b"Transfer-Encoding: chunked, \r\n"), False, 3, False)
    ],
    # gunicorn 27's chunked-body errors are no OSErrors: they were a 500 and a traceback.
    "bad chunk size": [
        Request(eval_request(4, b"Transfer-Encoding: chunked\r\n", b"zz\r\n"), False, 4, False)
    ],
    "bad trailer": [
        Request(
            eval_request(
                5,
                b"Transfer-Encoding: chunked\r\n",
                b"15\r\n" + eval_body(5)[:21] + b"\r\n0\r\nX y\r\n\r\n",
            ),
            False,
            5,
            False,
        )
    ],
}


@pytest.mark.parametrize("name", FOUND)
def test_what_the_fuzzer_found(fuzzed, name):
    check_connection(fuzzed, FOUND[name])


def check_connection(fuzzed, requests: list[Request]) -> None:
    proc, client, state = fuzzed
    # The requests up to the first whose end the server can only guess: each must be
    # answered, in order, unless an answer before it closed the connection.
    framed = 0
    while framed < len(requests) and requests[framed].framed:
        framed += 1
    received = exchange(client, b"".join(r.raw for r in requests), framed)

    statuses = [int(code) for code in STATUS_LINE.findall(received)]
    assert all(code < 500 for code in statuses), (statuses, received[:1000])

    responses = parse_responses(received)
    for i, request in enumerate(requests[: framed + 1]):
        if i == len(responses):
            closed = i > 0 and responses[i - 1][1].get(b"connection") == b"close"
            assert i == framed or closed, f"request {i} unanswered: {received[:1000]!r}"
            break
        status, _, body = responses[i]
        assert_answer_fits(request, status, body)

    log = server_log(proc)[state["log seen"] :]
    assert "Traceback" not in log, log[-3000:]
    state["log seen"] += len(log)
    start = time.monotonic()
    assert client.eval(input="print('alive')")["stdout"] == "alive\n"
    assert time.monotonic() - start < 5
