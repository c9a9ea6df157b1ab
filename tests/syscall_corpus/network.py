"""Sockets: a job has no network, but making sockets and failing to connect must work."""

import asyncio
import http.client
import socket
import ssl
import urllib.error
import urllib.request

for family in (socket.AF_INET, socket.AF_INET6):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.settimeout(1)
            try:
                sock.connect(("127.0.0.1", 80) if family == socket.AF_INET else ("::1", 80))
                raise AssertionError("connected with no network")
            except OSError:
                pass
left, right = socket.socketpair()
left.sendall(b"ping")
assert right.recv(4) == b"ping"
left.close()
right.close()
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
    server.bind("/home/server.sock")
    server.listen()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect("/home/server.sock")
        conn, _ = server.accept()
        client.sendall(b"hello")
        assert conn.recv(5) == b"hello"
        conn.close()
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as datagram:
    datagram.bind("/home/datagram.sock")
assert socket.gethostname() == "snekbox"
for attempt in (
    lambda: socket.getaddrinfo("example.com", 80),
    lambda: urllib.request.urlopen("http://example.com", timeout=1),
    lambda: http.client.HTTPConnection("127.0.0.1", 80, timeout=1).request("GET", "/"),
):
    try:
        attempt()
        raise AssertionError("reached the network")
    except (OSError, urllib.error.URLError):
        pass
assert ssl.create_default_context().check_hostname


async def main():
    try:
        await asyncio.open_connection("127.0.0.1", 80)
        raise AssertionError("connected with no network")
    except OSError:
        pass


asyncio.run(main())
print("corpus ok")
