"""Oversized and pathological requests are refused early and cheaply, and the server lives on.

Each bomb goes to the shared real server; the answer must be a JSON 4xx within a couple of
seconds (most of it spent sending the body), and a small job must run right after.
"""

import base64
import concurrent.futures
import json
import socket
import time

import pytest

MB = 1024 * 1024


def body_of(settings, name: str) -> bytes:
    near_max = settings.max_body_size - 1000
    bombs = {
        "over the body limit": lambda: json.dumps({"input": "x" * settings.max_body_size}),
        "deeply nested": lambda: '{"input": "1", "x": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}",
        "50000 input files": lambda: json.dumps(
            {"input": "1", "files": [{"path": f"f{i}"} for i in range(50000)]}
        ),
        "a million args": lambda: json.dumps({"args": ["-c", "1"] + ["a"] * 1_000_000}),
        "one enormous file": lambda: json.dumps(
            {
                "input": "1",
                "files": [
                    {
                        "path": "big",
                        "content": base64.b64encode(b"\0" * (near_max * 3 // 4 - 100)).decode(),
                    }
                ],
            }
        ),
        "huge stdin": lambda: json.dumps({"input": "1", "stdin": "s" * near_max}),
        "huge input": lambda: json.dumps({"input": "#" * near_max}),
        "huge args": lambda: json.dumps({"args": ["-c", "1"] + ["a" * 131000] * 256}),
        "many tiny values": lambda: '{"input": "1", "x": [' + "[]," * (near_max // 3) + "[]]}",
        "many tiny strings": lambda: '{"input": "1", "x": [' + '"ab",' * (near_max // 5) + '""]}',
        "many numbers": lambda: '{"input": "1", "x": [' + "12345," * (near_max // 6) + "1]}",
        # Small bodies (15 and 4.5 MB) that once parsed into 16 times their size.
        "3 million short strings": lambda: '{"input": "1", "x": [' + '"ab",' * 3_000_000 + '""]}',
        "1.5 million empty arrays": lambda: '{"input": "1", "x": [' + "[]," * 1_500_000 + "[]]}",
        "huge executable path": lambda: json.dumps(
            {"input": "1", "executable_path": "/" * near_max}
        ),
        "huge integer": lambda: '{"input": "1", "limits": {"memory": 1' + "0" * 100000 + "}}",
    }
    return bombs[name]().encode()


BOMBS = [
    "over the body limit",
    "deeply nested",
    "50000 input files",
    "a million args",
    "one enormous file",
    "huge stdin",
    "huge input",
    "huge args",
    "many tiny values",
    "many tiny strings",
    "many numbers",
    "3 million short strings",
    "1.5 million empty arrays",
    "huge executable path",
    "huge integer",
]


@pytest.mark.parametrize("name", BOMBS)
def test_bomb_is_refused_quickly_and_the_server_lives_on(client, settings, name):
    raw = body_of(settings, name)
    start = time.monotonic()
    resp = client.request("POST", "/eval", raw, {"Content-Type": "application/json"})
    elapsed = time.monotonic() - start
    assert resp.status in (400, 413), (resp.status, resp.body[:300])
    assert set(resp.json) == {"title", "description"}
    assert elapsed < 3, f"{name}: {elapsed:.1f} s"
    assert client.eval(input="print('alive')")["stdout"] == "alive\n"


def test_body_over_the_limit_is_refused_before_it_is_read(client, settings):
    # Only the headers are sent: the 413 must come without waiting for the announced body.
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.sendall(
            b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (settings.max_body_size + 1)
        )
        start = time.monotonic()
        reply = sock.recv(65536)
        assert time.monotonic() - start < 2
    assert reply.startswith(b"HTTP/1.1 413")


def test_the_largest_valid_request_is_not_too_complex(client, settings):
    # Every text field at its maximum and made of nothing but commas: the count of values
    # before parsing must still let it through to the job.
    commas = "," * 251
    files = [{"path": f"{',' * 255}/{',' * 255}/{',' * 255}/{i:04}{commas}"} for i in range(1000)]
    args = ["-c", "pass#" + "," * 131000] + ["," * 131000] * 6
    body = client.eval(args=args, files=files, stdin="," * settings.max_stdin)
    assert (body["returncode"], body["status"]) == (0, "ok"), body["stdout"][:300]


def chunk_extension_bomb(client, extension_size: int) -> socket.socket:
    """A chunked body whose first chunk-size line carries an extension of many MiB."""
    sock = socket.create_connection((client.host, client.port), timeout=10)
    sock.sendall(
        b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n15;e="
    )
    return sock


def send_extension(sock: socket.socket, extension_size: int) -> bytes:
    """The rest of the extension (as much as the server takes), then its answer."""
    try:
        sock.sendall(b"a" * extension_size + b"\r\n")
    except OSError:
        pass  # refused part way
    reply = b""
    try:
        while chunk := sock.recv(65536):
            reply += chunk
    except OSError:
        pass
    return reply


def test_a_chunk_size_line_of_many_mib_is_refused_quickly(client):
    """gunicorn 23 rescanned the whole line for its end on every read: 8 MiB took 4.7 s of
    a worker's CPU."""
    start = time.monotonic()
    with chunk_extension_bomb(client, 8 * MB) as sock:
        reply = send_extension(sock, 8 * MB)
    assert reply.startswith(b"HTTP/1.1 4"), reply[:200]
    assert time.monotonic() - start < 2
    assert client.eval(input="print('alive')")["stdout"] == "alive\n"


def test_chunk_size_lines_of_many_mib_at_once_do_not_stop_a_request(client):
    bombs = [chunk_extension_bomb(client, 8 * MB) for _ in range(4)]
    with concurrent.futures.ThreadPoolExecutor(len(bombs)) as pool:
        replies = [pool.submit(send_extension, sock, 8 * MB) for sock in bombs]
        time.sleep(0.2)
        start = time.monotonic()
        assert client.eval(input="print('alive')")["stdout"] == "alive\n"
        assert time.monotonic() - start < 2
        for reply in replies:
            assert reply.result(timeout=30).startswith(b"HTTP/1.1 4")
    for sock in bombs:
        sock.close()
