"""POST /eval through a real gunicorn server: the classic contract and its additions."""

import json
import threading

import pytest

from tests.conftest import SECRET_VALUE, SECRET_VARIABLE
from tests.helpers import b64, unb64


def test_hello_world_with_input(client):
    body = client.eval(input="print('hello world')")
    assert body == {
        "stdout": "hello world\n",
        "returncode": 0,
        "files": [],
        "status": "ok",
        "signal": None,
        "duration": body["duration"],
        "truncated": False,
    }
    assert 0 < body["duration"] < 5


def test_hello_world_with_args(client):
    body = client.eval(args=["-c", "print('hello world')"])
    assert (body["stdout"], body["returncode"]) == ("hello world\n", 0)


def test_input_is_appended_to_args(client):
    body = client.eval(args=["-c"], input="import sys; print(sys.argv)")
    assert body["stdout"] == "['-c']\n"


def test_multi_file_program(client):
    files = [
        {"path": "main.py", "content": b64("from lib import util\nprint(util.answer())")},
        {"path": "lib/util.py", "content": b64("def answer():\n    return 42")},
    ]
    body = client.eval(args=["main.py"], files=files)
    assert (body["stdout"], body["returncode"]) == ("42\n", 0)


def test_output_files_with_exact_binary_bytes(client):
    payload = bytes(range(256))
    body = client.eval(
        input=f"open('out.bin', 'wb').write({payload!r})",
        files=[{"path": "in.txt", "content": b64("unchanged")}],
    )
    assert [(f["path"], f["size"], unb64(f["content"])) for f in body["files"]] == [
        ("out.bin", 256, payload)
    ]


def test_symlink_to_host_file_returns_nothing(client):
    body = client.eval(input="import os; os.symlink('/etc/passwd', 'leak.txt')")
    assert body["files"] == []


def test_server_environment_is_invisible(client):
    body = client.eval(input="import os; print(dict(os.environ))")
    assert SECRET_VARIABLE not in body["stdout"]
    assert SECRET_VALUE not in body["stdout"]


def test_services_own_port_is_unreachable(client):
    code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {client.port}), timeout=2)
    print("reached the service")
except OSError as e:
    print(e.errno)
"""
    assert client.eval(input=code)["stdout"] == "101\n"


def test_timeout_over_http(client):
    body = client.eval(input="import time; time.sleep(30)", limits={"time": 1})
    assert (body["returncode"], body["status"], body["signal"]) == (137, "timeout", "SIGKILL")


def test_invalid_utf8_output_is_valid_json(client):
    body = client.eval(input="import sys; sys.stdout.buffer.write(bytes(range(256)))")
    assert body["returncode"] == 0
    assert len(body["stdout"]) == 256


def test_three_concurrent_33mb_jobs_all_succeed(client):
    code = (
        "import time; x = bytearray(33 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); "
        "time.sleep(1); print('done')"
    )
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(client.eval(input=code))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["stdout"] for r in results] == ["done\n"] * 3


def test_executable_path_of_default_runtime(client):
    body = client.eval(
        input="import sys; print(sys.executable)",
        executable_path="/snekbin/python/default/bin/python",
    )
    assert body["stdout"] == "/snekbin/python/default/bin/python\n"


# Every bad input is a 4xx with a JSON title and description; never a 500 or a hang.
BAD_BODIES = [
    ("invalid JSON", b"{not json", 400),
    ("JSON but not an object", b"[1, 2]", 400),
    ("neither input nor args", b"{}", 400),
    ("input not a string", b'{"input": 5}', 400),
    ("args not strings", b'{"args": [1]}', 400),
    ("absolute path", json.dumps({"input": "", "files": [{"path": "/etc/x"}]}).encode(), 400),
    ("dot-dot escape", json.dumps({"input": "", "files": [{"path": "a/../../x"}]}).encode(), 400),
    ("NUL in path", json.dumps({"input": "", "files": [{"path": "a\0b"}]}).encode(), 400),
    (
        "bad base64",
        json.dumps({"input": "", "files": [{"path": "a", "content": "@@"}]}).encode(),
        400,
    ),
    (
        "duplicate paths",
        json.dumps({"input": "", "files": [{"path": "a"}, {"path": "a"}]}).encode(),
        400,
    ),
    (
        "unknown executable",
        json.dumps({"input": "", "executable_path": "/usr/bin/python3"}).encode(),
        400,
    ),
    (
        "unknown file field",
        json.dumps({"input": "", "files": [{"path": "a", "mode": 7}]}).encode(),
        400,
    ),
    ("NUL in input", json.dumps({"input": "print(1)\0"}).encode(), 400),
    ("deeply nested JSON", b"[" * 3000 + b"]" * 3000, 400),
    ("lone surrogate in args", b'{"args": ["-c", "\\ud800"]}', 400),
    ("input too long for exec", json.dumps({"input": "#" * 200000}).encode(), 400),
]


@pytest.mark.parametrize("name,raw,status", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies_are_4xx(client, name, raw, status):
    resp = client.request("POST", "/eval", raw, {"Content-Type": "application/json"})
    assert resp.status == status, resp.body[:300]
    assert set(resp.json) == {"title", "description"}
    assert resp.json["description"]


def test_non_json_content_type_is_415(client):
    resp = client.request("POST", "/eval", b"print(1)", {"Content-Type": "text/plain"})
    assert resp.status == 415
    assert "application/json" in resp.json["description"]


def test_body_over_limit_is_413(client, settings):
    raw = json.dumps({"input": "x" * (settings.max_body_size + 1)}).encode()
    resp = client.request("POST", "/eval", raw, {"Content-Type": "application/json"})
    assert resp.status == 413
    assert str(settings.max_body_size) in resp.json["description"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client, method):
    resp = client.request(method, "/eval")
    assert resp.status == 405
    assert "POST" in resp.headers["allow"]
    assert "POST" in resp.json["description"]
    assert set(resp.json) == {"title", "description"}


def test_unknown_route_is_404_json(client):
    resp = client.get("/nope")
    assert resp.status == 404
    assert set(resp.json) == {"title", "description"}


def test_a_chunked_body_is_read(client):
    body = json.dumps({"input": "print('chunked')"}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    resp = client.request(
        "POST",
        "/eval",
        chunked + b"0\r\n\r\n",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert (resp.status, resp.json["stdout"]) == (200, "chunked\n")
