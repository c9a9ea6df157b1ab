"""`python -m snekbox CODE [ARG...]`: run code in the service's jail, without HTTP.

Prints what the job printed and exits with its return code, for debugging the jail.
"""

from __future__ import annotations

import argparse
import sys

from snekbox import settings
from snekbox.jail import JailSetupError
from snekbox.jobs import JobError, Jobs, RequestError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m snekbox", description=__doc__.split("\n")[0])
    parser.add_argument("code", help="Python code, run as with `python -I -c CODE`")
    parser.add_argument("args", nargs="*", help="more arguments, seen by the code as sys.argv[1:]")
    parser.add_argument("--runtime", help="a runtime name from GET /runtimes (default: default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        jobs = Jobs.start(settings.current())
        request = {"args": ["-c", options.code, *options.args]}
        if options.runtime:
            request["version"] = options.runtime
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


if __name__ == "__main__":
    sys.exit(main())
