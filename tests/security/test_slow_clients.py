"""Clients that send their request slowly (slowloris) cannot hold the service's threads."""

import http.client
import json
import math
import resource
import selectors
import socket
import time

import pytest

from tests.conftest import server_log, start_server, stop_server
from tests.helpers import read_slowly

TIMEOUT = 2
PARTIAL_REQUEST = (
    b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n{"
)


@pytest.fixture(scope="module")
def impatient():
    proc, client = start_server({"SNEKBOX_REQUEST_TIMEOUT": str(TIMEOUT)})
    yield client
    stop_server(proc)
    assert "Traceback" not in server_log(proc)


def stalled(client) -> socket.socket:
    """A connection that sent the start of a request and then nothing more."""
    sock = socket.create_connection((client.host, client.port))
    sock.sendall(PARTIAL_REQUEST)
    return sock


def assert_served_despite(client, connections: list[socket.socket]) -> None:
    """A job is answered within the deadline while `connections` stay open; then they close."""
    try:
        time.sleep(0.5)
        start = time.monotonic()
        assert client.eval(input="print('served')")["stdout"] == "served\n"
        assert time.monotonic() - start < TIMEOUT + 5
    finally:
        for sock in connections:
            sock.close()


def test_more_stalled_requests_than_threads_do_not_stop_the_service(impatient, settings):
    threads = settings.workers * (settings.jobs_at_once + settings.max_queue + 4)
    assert_served_despite(impatient, [stalled(impatient) for _ in range(threads + 20)])


def test_more_silent_connections_than_accepted_do_not_stop_the_service(impatient, settings):
    """gthread accepts 1000 connections per worker and, unpatched, keeps silent ones."""
    many = settings.workers * 1000 + 100
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert_served_despite(
        impatient, [socket.create_connection((impatient.host, impatient.port)) for _ in range(many)]
    )


def test_a_body_that_stops_arriving_is_408(impatient):
    with stalled(impatient) as sock:
        sock.settimeout(TIMEOUT + 5)
        start = time.monotonic()
        reply = sock.recv(65536)
        assert TIMEOUT - 0.5 < time.monotonic() - start < TIMEOUT + 2
        while chunk := sock.recv(65536):  # the rest of the answer, then the connection
            reply += chunk  # closes, as the body never comes
        assert time.monotonic() - start < 2 * TIMEOUT + 2
    assert reply.startswith(b"HTTP/1.1 408")
    assert b'"title": "Request body too slow"' in reply


def test_headers_trickling_in_are_cut_off_at_the_deadline(impatient):
    with socket.create_connection((impatient.host, impatient.port), timeout=TIMEOUT + 5) as sock:
        start = time.monotonic()
        with pytest.raises(OSError):
            for byte in b"POST /eval HTTP/1.1\r\nHost: a-very-slow-client\r\n" * 10:
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
            assert sock.recv(1) == b""  # closed without an answer
            raise ConnectionResetError
        assert time.monotonic() - start < TIMEOUT + 2


def test_a_deadline_is_per_request_on_a_kept_alive_connection(impatient):
    """Two requests on one connection, each quick, the pair longer than the deadline."""
    conn = http.client.HTTPConnection(impatient.host, impatient.port, timeout=10)
    try:
        sockets = []
        for _ in range(2):
            conn.request(
                "POST", "/eval", b'{"input": "print(1)"}', {"Content-Type": "application/json"}
            )
            resp = conn.getresponse()
            assert (resp.status, resp.read()[:14]) == (200, b'{"stdout": "1\\')
            sockets.append(conn.sock)
            time.sleep(TIMEOUT * 0.75)
        assert sockets[0] is sockets[1]  # the same connection, kept alive
    finally:
        conn.close()


def test_an_unread_answer_holds_its_job_slot_until_it_is_sent():
    """Answers can be many times a job's output in memory: they count against the slots."""
    proc, client = start_server(
        {
            "SNEKBOX_REQUEST_TIMEOUT": str(TIMEOUT),
            "SNEKBOX_MAX_JOBS": "1",
            "SNEKBOX_MAX_QUEUE": "0",
            "SNEKBOX_POOL_SIZE": "0",
        }
    )
    try:
        body = json.dumps({"input": "print('x' * 8_000_000)", "limits": {"output": 9_000_000}})
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect((client.host, client.port))
        reader.sendall(
            b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode())
        )
        time.sleep(1)  # the job has run; its answer waits for a reader that does not read
        assert client.post("/eval", {"input": "pass"}).status == 503
        time.sleep(TIMEOUT + 1)  # the server gives up on that reader and frees the slot
        assert client.eval(input="print('next')")["stdout"] == "next\n"
        reader.close()
    finally:
        stop_server(proc)


@pytest.mark.slow
def test_a_client_taking_its_answer_slowly_does_not_keep_its_job_slot():
    """Each write of the answer has its own timeout, so a client reading a little faster
    than that would hold the slot for as long as it liked; the whole answer must be taken
    within request_timeout plus a second per MiB."""
    proc, client = start_server(
        {
            "SNEKBOX_REQUEST_TIMEOUT": str(TIMEOUT),
            "SNEKBOX_MAX_JOBS": "1",
            "SNEKBOX_MAX_QUEUE": "0",
            "SNEKBOX_POOL_SIZE": "0",
        }
    )
    try:
        # About 20 MiB of answer, far more than the sockets' buffers: 22 s allowed.
        body = json.dumps({"input": "open('big', 'wb').write(bytes(15_000_000))"})
        taken, reader = read_slowly(client, body, b"", 26, 0.2)  # about 320 KB/s
        assert taken < 15_000_000  # cut off part way
        assert client.eval(input="print('next')")["stdout"] == "next\n"
        reader.close()
    finally:
        stop_server(proc)
    assert "too slow to take its answer" in server_log(proc)
    assert "Traceback" not in server_log(proc)


def ends_of(
    connections: list[socket.socket], within: float, replies: list[bytes] | None = None
) -> list[float]:
    """When each connection was closed by the server or given its answer (seconds from
    now), waiting at most `within`; inf for those still open then. The first bytes of each
    answer go to `replies`."""
    start = time.monotonic()
    ends = [math.inf] * len(connections)
    replies = [b""] * len(connections) if replies is None else replies
    with selectors.DefaultSelector() as selector:
        for i, sock in enumerate(connections):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
        while selector.get_map() and (left := start + within - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                try:
                    replies[key.data] = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                ends[key.data] = time.monotonic() - start
                selector.unregister(key.fileobj)
    return ends


def test_every_stalled_connection_ends_at_its_deadline_counted_from_its_connect(impatient):
    """Hundreds of connections that stop half way through their body, more than there are
    threads: each one's deadline counts from its connect, not from when a thread took it
    (gunicorn 23's worker queued them, and each batch got a fresh deadline)."""
    connections = [stalled(impatient) for _ in range(300)]
    try:
        ends = ends_of(connections, within=6 * TIMEOUT)
    finally:
        for sock in connections:
            sock.close()
    assert max(ends) < TIMEOUT + 2, sorted(ends)[-5:]


def test_a_deadline_counts_from_the_connect_not_the_first_byte(impatient):
    with socket.create_connection((impatient.host, impatient.port)) as sock:
        time.sleep(TIMEOUT * 0.75)  # silent, then half a request
        sock.sendall(PARTIAL_REQUEST)
        assert ends_of([sock], within=3 * TIMEOUT)[0] < TIMEOUT * 0.25 + 1


def test_a_request_is_served_while_hundreds_of_stalled_connections_wait():
    """Connections that stop half way through their body, far more than threads, all still
    within their deadline: a new request is answered at once, not after them."""
    timeout = 30
    proc, client = start_server({"SNEKBOX_REQUEST_TIMEOUT": str(timeout)})
    connections = []
    try:
        opened = time.monotonic()
        connections = [stalled(client) for _ in range(400)]
        time.sleep(0.5)
        assert client.eval(input="print('served')")["stdout"] == "served\n"
        assert time.monotonic() - opened < 10  # long before the stalled ones' deadline
        assert client.get("/runtimes").status == 200
    finally:
        for sock in connections:
            sock.close()
        stop_server(proc)
    assert "Traceback" not in server_log(proc)


def test_clients_that_keep_their_end_open_after_the_answer_do_not_stop_the_service(impatient):
    """Answers that close the connection (HTTP/1.0 here), to clients that then send nothing
    and never close: gunicorn 27 lingers for each one on its worker's main thread, 2 s."""
    connections = []
    try:
        for _ in range(40):
            sock = socket.create_connection((impatient.host, impatient.port))
            sock.sendall(b"GET /runtimes HTTP/1.0\r\n\r\n")
            connections.append(sock)
        time.sleep(0.5)
        start = time.monotonic()
        assert impatient.eval(input="print('served')")["stdout"] == "served\n"
        assert time.monotonic() - start < 5
        assert max(ends_of(connections, within=10)) < 10  # each got its answer
    finally:
        for sock in connections:
            sock.close()


def test_beyond_max_reading_the_connection_waiting_longest_is_cut_off():
    """Each worker reads at most SNEKBOX_MAX_READING requests at once: one more cuts off the
    one that has waited longest on its client, which gets a 408 if its body had begun."""
    proc, client = start_server({"SNEKBOX_REQUEST_TIMEOUT": "30", "SNEKBOX_MAX_READING": "4"})
    connections = []
    try:
        for _ in range(20):
            connections.append(stalled(client))
            time.sleep(0.05)
        replies = [b""] * len(connections)
        ends = ends_of(connections, within=3, replies=replies)
        cut = [reply for end, reply in zip(ends, replies, strict=True) if end < math.inf]
        assert len(cut) >= 20 - 2 * 4
        assert ends[-1] == math.inf  # the newest waits on
        assert all(reply.startswith(b"HTTP/1.1 408") and b"cut off" in reply for reply in cut)
        assert client.eval(input="print('served')")["stdout"] == "served\n"
    finally:
        for sock in connections:
            sock.close()
        stop_server(proc)
    assert "Traceback" not in server_log(proc)
