"""`snekbox mcp`: a snekbox deployment as MCP tools, over stdio or streamable HTTP.

It is only a client of snekbox (snekbox.client, to the URL and token of the settings
mcp_url and mcp_token), so it runs anywhere, as any user. At start it reads the service's
limits and runtimes, to state them in the tools' descriptions and schemas, and stops with
a message saying what to do when it cannot. Once serving, snekbox's error answers and a
snekbox out of reach become tool errors with the reason, never an end of this server.

This module has no `from __future__ import annotations`: the tools' parameter types carry
the service's limits, so they are built when the tools are, and read by the SDK then.
"""

import base64
import binascii
import dataclasses
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

import httpx
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from snekbox.client import AsyncClient, Client, SnekboxError
from snekbox.mcp import content

HTTP_PATH = "/mcp"
# Seconds an answer may take beyond the job's own time limit (a queue wait, the answer).
ANSWER_MARGIN = 60.0
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Service:
    """The snekbox the tools use, and what they tell a model about it."""

    url: str
    token: str | None
    time_limit: float
    max_time_limit: float
    memory_limit: int
    output_limit: int
    runtimes: str  # "default (Python 3.11.7), ..."

    @classmethod
    def fetch(cls, url: str, token: str | None) -> "Service":
        """Read the limits from the service's OpenAPI document (the schema that validates
        its requests) and its runtimes; SnekboxError, httpx.HTTPError or KeyError."""
        with Client(url, token=token) as snekbox:
            document = snekbox.openapi()
            runtimes = snekbox.runtimes()
        body = document["paths"]["/eval"]["post"]["requestBody"]["content"]["application/json"]
        limits = body["schema"]["properties"]["limits"]["properties"]
        return cls(
            url=url,
            token=token,
            time_limit=limits["time"]["default"],
            max_time_limit=limits["time"]["maximum"],
            memory_limit=limits["memory"]["default"],
            output_limit=limits["output"]["default"],
            runtimes=", ".join(f"{r.name} (Python {r.version})" for r in runtimes),
        )

    async def ask(self, request: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """`request` answered by the service, or a ToolError saying why it was not."""
        timeout = self.max_time_limit + ANSWER_MARGIN
        try:
            async with AsyncClient(self.url, token=self.token, timeout=timeout) as snekbox:
                return await request(snekbox)
        except SnekboxError as e:
            raise ToolError(f"snekbox answered {e}") from None
        except httpx.HTTPError as e:
            raise ToolError(
                f"cannot reach snekbox at {self.url}: {type(e).__name__}: {e}"
            ) from None


class InputFile(BaseModel):
    path: str = Field(
        description="Where the file goes, relative to /home (the working directory), "
        "e.g. 'data/input.csv'; directories are created."
    )
    content: str = Field(description="The file's text, or its bytes in base64 (see encoding).")
    encoding: Literal["text", "base64"] = Field("text", description="How content is given.")

    def data(self) -> bytes:
        if self.encoding == "text":
            return self.content.encode("utf-8")
        try:
            return base64.b64decode(self.content, validate=True)
        except (binascii.Error, ValueError):
            raise ToolError(f"files: the content of {self.path!r} is not valid base64") from None


def describe_run(service: Service) -> str:
    return (
        "Run Python code in a fresh, isolated sandbox (snekbox); get back a one-line "
        "verdict, the output and the files the code wrote.\n\n"
        "Every call starts from nothing: a new interpreter in a new jail, nothing kept from "
        "earlier calls (no variables, files or installed packages). The sandbox has no "
        "network at all and is a single process: no subprocesses, no threads. Limits: "
        f"{service.time_limit:g} s of wall-clock time unless time_limit says otherwise (at "
        f"most {service.max_time_limit:g} s); {service.memory_limit // 2**20} MiB of memory; "
        f"output (stdout and stderr merged, in order) cut at {service.output_limit} bytes; "
        "/home, the working directory, is the only writable place.\n\n"
        "The result: first the verdict (status: ok, error, timeout, oom, output_limit, "
        "signal or internal_error; the return code; the duration; whether the output was "
        "truncated), then the output, then each file written or changed under /home: "
        "images (PNG, JPEG, GIF) as images, other files (SVG too) as embedded resources. Long "
        "output keeps its start and end, and files over the size limits are named in a "
        "note instead. matplotlib figures still open when the code ends come back as "
        "figure-N.png images: no savefig or plt.show() is needed (where the runtime has "
        "matplotlib). Print what you want to see: the value of a last expression is not "
        "shown."
    )


def build(service: Service) -> MCPServer:
    """The MCP server with the tools run_python and list_runtimes, using `service`."""
    server: MCPServer = MCPServer(
        "snekbox",
        instructions="Runs Python code in an isolated sandbox without network (run_python).",
    )

    async def run_python(
        code: Annotated[str, Field(description="Python source, run as with `python -c`.")],
        files: Annotated[
            list[InputFile] | None,
            Field(description="Files written into /home before the code runs."),
        ] = None,
        stdin: Annotated[
            str, Field(description="Standard input; empty: input() raises EOFError.")
        ] = "",
        runtime: Annotated[
            str | None,
            Field(
                description=f"The runtime's name; default 'default'. Runtimes: {service.runtimes}."
            ),
        ] = None,
        time_limit: Annotated[
            float | None,
            Field(
                gt=0,
                le=service.max_time_limit,
                description=f"Wall-clock seconds; default {service.time_limit:g}.",
            ),
        ] = None,
    ) -> CallToolResult:
        inputs = {file.path: file.data() for file in files or ()}
        if len(inputs) != len(files or ()):
            raise ToolError("files: each path may be given only once")
        result = await service.ask(
            lambda snekbox: snekbox.eval(
                code,
                files=inputs or None,
                stdin=stdin or None,
                version=runtime,
                time=time_limit,
                figures=True,
            )
        )
        return CallToolResult(content=content.blocks(result))

    async def list_runtimes() -> str:
        runtimes = await service.ask(lambda snekbox: snekbox.runtimes())
        return "\n".join(
            f"{r.name}: Python {r.version}{' (the default)' if r.default else ''}" for r in runtimes
        )

    server.add_tool(
        run_python,
        description=describe_run(service),
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    server.add_tool(
        list_runtimes,
        description="The Python runtimes run_python can use (its runtime argument), one a "
        "line: name, then version.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    return server


def serve(url: str, token: str | None, http: tuple[str, int] | None) -> int:
    """Serve over stdio, or over streamable HTTP at `http` (host, port) under /mcp."""
    try:
        service = Service.fetch(url, token)
    except (SnekboxError, httpx.HTTPError, KeyError) as e:
        print(
            f"snekbox mcp: cannot use the snekbox at {url} ({type(e).__name__}: {e}): start "
            "it (snekbox serve), or set SNEKBOX_MCP_URL (or --url) and SNEKBOX_MCP_TOKEN",
            file=sys.stderr,
        )
        return 2
    server = build(service)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request to snekbox
    if http is None:
        server.run("stdio")
        return 0
    host, port = http
    server.run(
        "streamable-http",
        host=host,
        port=port,
        streamable_http_path=HTTP_PATH,
        stateless_http=True,
        json_response=True,
    )
    return 0
