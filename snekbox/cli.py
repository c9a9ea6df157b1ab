"""The `snekbox` command: serve the HTTP API, run code in the jail, or benchmark a server.

snekbox serve [GUNICORN OPTION...]      e.g. snekbox serve -b 127.0.0.1:9000
snekbox run CODE [ARG...]               the job's output, and its return code
snekbox bench [URL] [--json FILE]       speed figures of a running server
snekbox mcp [--url URL] [--http [HOST:]PORT]   MCP tools for agents, over stdio or HTTP
"""

from __future__ import annotations

import argparse
import os
import sys

from snekbox import settings
from snekbox.jail import JailSetupError
from snekbox.jobs import JobError, Jobs, RequestError

# gunicorn loads its settings (and the service's hooks) from this module.
GUNICORN_CONFIG = "python:snekbox.api.serving"


def serve(gunicorn_options: list[str]) -> int:
    """Replace this process with gunicorn serving snekbox."""
    os.execv(
        sys.executable, [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG, *gunicorn_options]
    )


def run(code: str, args: list[str], runtime: str | None) -> int:
    """Run code as a job of the service's jail; print its output; its return code."""
    request: dict[str, object] = {"args": ["-c", code, *args]}
    if runtime:
        request["version"] = runtime
    try:
        jobs = Jobs.start(settings.current())
        result = jobs.run(jobs.requests.parse(request))
    except (JailSetupError, JobError, RequestError) as e:
        print(f"snekbox: {e}", file=sys.stderr)
        return 2
    sys.stdout.write(result.stdout)
    if result.returncode is None:
        return 1
    if result.status.value not in ("ok", "error"):
        print(f"[snekbox: {result.status.value}, returncode {result.returncode}]", file=sys.stderr)
    return result.returncode


def address(text: str) -> tuple[str, int]:
    """[HOST:]PORT, HOST being loopback unless given."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not [HOST:]PORT")
    return host or "127.0.0.1", int(port)


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="snekbox", description=__doc__.split("\n")[0])
    sub = commands.add_subparsers(dest="command", required=True)
    serving = sub.add_parser("serve", help="serve the HTTP API with gunicorn (as root)")
    serving.add_argument(
        "gunicorn_options", nargs="*", help="passed to gunicorn, e.g. -b 127.0.0.1:9000"
    )
    running = sub.add_parser("run", help="run code in the jail, without HTTP (as root)")
    running.add_argument("code", help="Python code, run as with `python -I -c CODE`")
    running.add_argument("args", nargs="*", help="more arguments, seen as sys.argv[1:]")
    running.add_argument("--runtime", help="a runtime name from GET /runtimes")
    benching = sub.add_parser("bench", help="measure a running server against the targets")
    benching.add_argument("url", nargs="?", default="http://127.0.0.1:8060")
    benching.add_argument("--json", help="also write the figures to this file")
    tools = sub.add_parser("mcp", help="serve a snekbox as MCP tools, over stdio by default")
    tools.add_argument("--url", help="the snekbox to use (default: SNEKBOX_MCP_URL)")
    tools.add_argument(
        "--http",
        metavar="[HOST:]PORT",
        type=address,
        help="serve streamable HTTP at http://HOST:PORT/mcp instead (HOST: 127.0.0.1)",
    )
    return commands


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # every option after it is gunicorn's, -b and all
        return serve(argv[1:])
    options = parser().parse_args(argv)
    if options.command == "run":
        return run(options.code, options.args, options.runtime)
    if options.command == "mcp":
        from snekbox.mcp import server

        # The token comes only from the environment: a command line is visible to all users.
        s = settings.current()
        return server.serve(options.url or s.mcp_url, s.mcp_token or None, options.http)
    from snekbox import bench

    return bench.main(options.url, options.json)
