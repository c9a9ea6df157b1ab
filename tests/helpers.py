"""Small helpers shared by the tests: an HTTP client for the real server."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Client:
    """A plain HTTP/1.1 client for one server on loopback."""

    def __init__(self, host: str, port: int, timeout: float = 60):
        self.host, self.port, self.timeout = host, port, timeout

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def post(self, path: str, document: object, headers: dict[str, str] | None = None) -> Response:
        return self.request(
            "POST",
            path,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def eval(self, **document: object) -> dict:
        """POST /eval and return the JSON of a 200 answer (fails the test otherwise)."""
        resp = self.post("/eval", document)
        assert resp.status == 200, (resp.status, resp.body[:500])
        return resp.json

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def unb64(data: str) -> bytes:
    return base64.b64decode(data)


def processes_mentioning(text: str) -> list[int]:
    """Pids of the processes whose command line contains `text` (e.g. a job's own token)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


class EventStream:
    """A POST answered with server-sent events, read one event at a time; the framing is
    checked strictly: `event: NAME`, `data: ` and one line of JSON, an empty line."""

    def __init__(self, client: Client, path: str, document: object, headers: dict | None = None):
        self.conn = http.client.HTTPConnection(client.host, client.port, timeout=client.timeout)
        self.conn.request(
            "POST",
            path,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", "Accept": "text/event-stream", **(headers or {})},
        )
        self.response = self.conn.getresponse()

    def __iter__(self):
        """(name, data) of each event until the stream ends."""
        assert self.response.status == 200, (self.response.status, self.response.read()[:500])
        assert self.response.getheader("Content-Type") == "text/event-stream"
        while line := self.response.readline():
            name = line.decode()
            data = self.response.readline().decode()
            assert self.response.readline() == b"\n"
            assert name.startswith("event: ") and name.endswith("\n"), name
            assert data.startswith("data: ") and data.endswith("\n"), data
            yield name[len("event: ") : -1], json.loads(data[len("data: ") :])

    def close(self) -> None:
        self.conn.close()


def read_slowly(
    client: Client, body: str, headers: bytes, seconds: float, pause: float
) -> tuple[int, socket.socket]:
    """POST `body` to /eval on a socket with a small receive buffer, then read the answer a
    chunk per `pause` for at most `seconds`; the bytes taken, and the socket, still open."""
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    reader.connect((client.host, client.port))
    reader.sendall(
        b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s"
        b"Content-Length: %d\r\n\r\n%s" % (headers, len(body), body.encode())
    )
    start, taken = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        chunk = reader.recv(65536)
        if not chunk:
            break
        taken += len(chunk)
        time.sleep(pause)
    return taken, reader
