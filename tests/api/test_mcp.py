"""`snekbox mcp`, driven by the MCP SDK's own client over stdio (started as README's agent
configuration says) and over streamable HTTP, against a real snekbox server whose jobs
have matplotlib."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, EmbeddedResource, ImageContent, TextContent

from snekbox.mcp import content, server
from tests.conftest import ROOT, free_port, start_server, stop_server
from tests.test_readme import README

MEMORY = 256 * 1024 * 1024  # matplotlib with numpy needs more than the default
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def snekbox_url(job_packages):
    proc, client = start_server(
        {"SNEKBOX_PACKAGES": f"default={job_packages}", "SNEKBOX_MEMORY_LIMIT": str(MEMORY)}
    )
    yield f"http://{client.host}:{client.port}"
    stop_server(proc)


def mcp_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "snekbox", "mcp", *options]


@pytest.fixture(scope="module")
def http_url(snekbox_url):
    """`snekbox mcp --http PORT` on a free port, once it accepts connections on loopback."""
    port = free_port()
    proc = subprocess.Popen(
        mcp_command("--url", snekbox_url, "--http", str(port)),  # on loopback by default
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "snekbox mcp --http exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(params=["stdio", "http"])
def connect(request, snekbox_url) -> Callable[[], Client]:
    """A new SDK client of the MCP server over one transport."""
    if request.param == "stdio":
        [config] = re.findall(r"```jsonc\n(.*?)```", README, re.S)
        agent = json.loads(config)["mcpServers"]["snekbox"]
        assert agent["command"] == "snekbox"  # this checkout's: python -m snekbox
        parameters = StdioServerParameters(
            command=sys.executable,
            args=["-m", "snekbox", *agent["args"]],
            env={**os.environ, **agent["env"], "SNEKBOX_MCP_URL": snekbox_url},
            cwd=str(ROOT),
        )
        return lambda: Client(parameters)
    url = request.getfixturevalue("http_url")
    return lambda: Client(url)


def using(connect: Callable[[], Client], use: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with connect() as client:
            return await use(client)

    return anyio.run(main)


def run_python(connect: Callable[[], Client], **arguments: Any) -> CallToolResult:
    return using(connect, lambda client: client.call_tool("run_python", arguments))


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, TextContent)]


def test_the_tools_and_their_schemas_state_the_services_limits(connect):
    tools = {tool.name: tool for tool in using(connect, lambda client: client.list_tools()).tools}
    assert set(tools) == {"run_python", "list_runtimes"}
    run = tools["run_python"]
    assert run.input_schema["required"] == ["code"]
    time_limit = run.input_schema["properties"]["time_limit"]
    assert time_limit["anyOf"][0]["maximum"] == 30
    assert "no network" in run.description and "256 MiB of memory" in run.description
    assert "default (Python 3.11" in run.input_schema["properties"]["runtime"]["description"]


def test_run_code_gives_the_verdict_and_the_output(connect):
    result = run_python(connect, code="print(6 * 7)", stdin="unused")
    assert not result.is_error
    verdict, output = texts(result)
    assert verdict.startswith("status: ok; return code: 0; duration: ")
    assert verdict.endswith("; output: complete")
    assert output == "42\n"


def test_a_figure_comes_back_as_an_image_and_other_files_as_resources(connect):
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nopen('notes.txt', 'w').write('hi')"
    result = run_python(connect, code=code, time_limit=30)
    [image] = [block for block in result.content if isinstance(block, ImageContent)]
    assert image.mime_type == "image/png"
    assert base64.b64decode(image.data).startswith(PNG)
    [resource] = [block.resource for block in result.content if isinstance(block, EmbeddedResource)]
    assert (resource.uri, resource.text) == ("snekbox:///home/notes.txt", "hi")


def test_input_files_and_a_runtime_by_name(connect):
    files = [
        {"path": "data/in.txt", "content": "snek"},
        {
            "path": "raw.bin",
            "content": base64.b64encode(b"\xff\x00").decode(),
            "encoding": "base64",
        },
    ]
    code = "print(open('data/in.txt').read()[::-1], open('raw.bin', 'rb').read())"
    result = run_python(connect, code=code, files=files, runtime="default")
    assert texts(result)[1] == "kens b'\\xff\\x00'\n"


def test_a_timeout_is_a_verdict(connect):
    result = run_python(connect, code="import time\ntime.sleep(10)", time_limit=1)
    assert not result.is_error
    assert texts(result)[0].startswith(
        "status: timeout (stopped at the time limit); return code: 137"
    )


def test_a_4xx_becomes_a_tool_error_with_the_servers_message(connect):
    result = run_python(connect, code="pass", runtime="nope")
    assert result.is_error
    [message] = texts(result)
    assert "snekbox answered 400 Invalid request: unknown version 'nope'" in message


def test_list_runtimes(connect):
    result = using(connect, lambda client: client.call_tool("list_runtimes", {}))
    assert texts(result)[0].startswith("default: Python 3.11")


def in_process(snekbox_url: str) -> Callable[[], Client]:
    """A client of the MCP server in this process (faster, for what a transport does not
    change)."""
    return lambda: Client(server.build(server.Service.fetch(snekbox_url, None)))


def test_images_by_type_and_content_others_as_resources(snekbox_url):
    code = (
        "open('a.gif', 'wb').write(b'GIF89a' + bytes(20) + b';')\n"
        "open('cut.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(20))\n"
        "open('b.svg', 'w').write('<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n"
        "open('fake.png', 'w').write('not a png')\n"
        "open('data.bin', 'wb').write(bytes([255, 0]))"
    )
    result = run_python(in_process(snekbox_url), code=code)
    images = [
        (b.mime_type, base64.b64decode(b.data)[:6])
        for b in result.content
        if isinstance(b, ImageContent)
    ]
    # SVG is markup that can hold script, and models' APIs take no SVG image: it is text.
    assert images == [("image/gif", b"GIF89a")]
    resources = {
        b.resource.uri: b.resource for b in result.content if isinstance(b, EmbeddedResource)
    }
    svg = resources["snekbox:///home/b.svg"]
    assert (svg.mime_type, svg.text) == (
        "image/svg+xml",
        '<svg xmlns="http://www.w3.org/2000/svg"/>',
    )
    assert resources["snekbox:///home/fake.png"].text == "not a png"
    assert base64.b64decode(resources["snekbox:///home/cut.png"].blob) == PNG + bytes(20)
    assert base64.b64decode(resources["snekbox:///home/data.bin"].blob) == b"\xff\x00"
    assert resources["snekbox:///home/data.bin"].mime_type == "application/octet-stream"


def test_long_output_and_large_files_are_bounded_with_a_note(snekbox_url):
    code = (
        f"print('x' * {content.MAX_OUTPUT_CHARS * 2})\n"
        f"open('big.txt', 'w').write('y' * {content.MAX_FILE_BYTES + 1})"
    )
    result = run_python(in_process(snekbox_url), code=code)
    verdict, output, note = texts(result)
    assert verdict.endswith("; output: complete")  # cut here, not by snekbox
    assert f"[... {content.MAX_OUTPUT_CHARS + 1} characters left out ...]" in output
    assert len(output) < content.MAX_OUTPUT_CHARS + 100
    assert note.startswith("Files left out, over the limits") and "big.txt (262145 bytes)" in note
    mib, kib = 2**20, 2**10
    assert (
        f"Output over {content.MAX_OUTPUT_CHARS} characters keeps its first and last "
        f"{content.MAX_OUTPUT_CHARS // 2}; a file over {content.MAX_IMAGE_BYTES // mib} MiB (an "
        f"image) or {content.MAX_FILE_BYTES // kib} KiB (another file), past "
        f"{content.MAX_FILES_BYTES // mib} MiB in all or past the {content.MAX_FILES}th"
    ) in README


def test_a_snekbox_gone_is_a_tool_error_not_a_crash(snekbox_url):
    service = server.Service.fetch(snekbox_url, None)
    gone = server.build(
        server.Service(**{**vars(service), "url": f"http://127.0.0.1:{free_port()}"})
    )
    result = run_python(lambda: Client(gone), code="pass")
    assert result.is_error
    assert "cannot reach snekbox at http://127.0.0.1:" in texts(result)[0]


def test_it_will_not_start_without_a_snekbox():
    done = subprocess.run(
        mcp_command("--url", f"http://127.0.0.1:{free_port()}"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "snekbox mcp: cannot use the snekbox at http://127.0.0.1:" in done.stderr
    assert "SNEKBOX_MCP_URL" in done.stderr


def test_the_token_comes_from_the_environment():
    proc, guarded = start_server({"SNEKBOX_API_TOKENS": "secret"})
    try:
        environment = {**os.environ, "SNEKBOX_MCP_URL": f"http://{guarded.host}:{guarded.port}"}
        refused = subprocess.run(
            mcp_command(), cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
        )
        assert refused.returncode == 2 and "Unauthorized: 401" in refused.stderr
        parameters = StdioServerParameters(
            command=sys.executable,
            args=mcp_command()[1:],
            env={**environment, "SNEKBOX_MCP_TOKEN": "secret"},
            cwd=str(ROOT),
        )
        assert texts(run_python(lambda: Client(parameters), code="print(1)"))[1] == "1\n"
    finally:
        stop_server(proc)


def test_a_bad_http_address_is_refused_before_anything_starts():
    done = subprocess.run(
        mcp_command("--http", "localhost:http"), cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "argument --http: 'localhost:http' is not [HOST:]PORT" in done.stderr


def test_many_files_with_long_names_leave_a_short_note(snekbox_url):
    """The note naming the files left out is bounded too: a job's file names cannot flood
    an agent's context."""
    code = (
        "import os\ndeep = '/'.join(['d' * 250] * 12)\nos.makedirs(deep)\n"
        "for n in range(100):\n    open(f'{deep}/{n:03}', 'w').close()"
    )
    result = run_python(in_process(snekbox_url), code=code)
    note = texts(result)[-1]
    assert note.startswith("Files left out, over the limits")
    assert len(note) <= content.MAX_NOTE_CHARS
    assert note.endswith("(80 files in all)")


def test_the_http_transport_refuses_other_hosts_and_origins(http_url):
    """On loopback, a web page cannot reach the tools by DNS rebinding, nor from its origin:
    they would run code with this server's snekbox token."""
    ask = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(http_url, json=ask, headers=headers).status_code == 200
    rebound = httpx.post(http_url, json=ask, headers={**headers, "Host": "attacker.example"})
    assert rebound.status_code == 421
    cross = httpx.post(http_url, json=ask, headers={**headers, "Origin": "http://attacker.example"})
    assert cross.status_code == 403
