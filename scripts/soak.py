"""Soak test: thousands of mixed jobs against a snekbox on this machine, then a leak check.

Sends hello-worlds, timeouts, memory bombs, fork bombs, output floods, file jobs, seccomp
violations and stdin echoes at several concurrency levels, checks every answer, and then
checks the server: worker memory and descriptors back near where they were, and no run
mount, run directory, cgroup, temporary directory, nsjail or zombie left behind.

Loopback only. Without --url it starts (and stops) a server of its own from this checkout.
Run through scripts/soak; `scripts/soak --help` lists the flags.
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from snekbox import settings

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CGROUP_PARENTS = [
    Path("/sys/fs/cgroup/memory/NSJAIL"),
    Path("/sys/fs/cgroup/pids/NSJAIL"),
    Path("/sys/fs/cgroup/NSJAIL"),
]
RETRIES_503 = 50


# The job mix: a request and a check of its answer (None when right, else what is wrong).
def _expect(body: dict, **fields: object) -> str | None:
    wrong = {k: body.get(k) for k, v in fields.items() if body.get(k) != v}
    return f"expected {fields}, got {wrong}" if wrong else None


def hello(i: int) -> tuple[dict, callable]:
    return {"input": f"print('hello', {i})"}, lambda b: _expect(
        b, stdout=f"hello {i}\n", status="ok", returncode=0
    )


def timeout(i: int) -> tuple[dict, callable]:
    code = random.choice(["while True: pass", "import time; time.sleep(60)"])
    return {"input": code, "limits": {"time": 0.3}}, lambda b: _expect(
        b, status="timeout", returncode=137, signal="SIGKILL"
    )


def memory_bomb(i: int) -> tuple[dict, callable]:
    code = "x = bytearray(200 * 1024 * 1024); print('survived')"
    return {"input": code}, lambda b: _expect(b, stdout="", status="oom", returncode=137)


def fork_bomb(i: int) -> tuple[dict, callable]:
    code = "import os\nwhile True:\n    os.fork()"
    return (
        {"input": code},
        lambda b: (
            _expect(b, status="error", returncode=1)
            or (
                None
                if "BlockingIOError" in b["stdout"]
                else f"no BlockingIOError: {b['stdout'][:200]}"
            )
        ),
    )


def flood(i: int) -> tuple[dict, callable]:
    code = random.choice(
        ["while True: print('x' * 1000)", "import os\nwhile True: os.write(1, os.urandom(4096))"]
    )
    return (
        {"input": code, "limits": {"output": 20000}},
        lambda b: (
            _expect(b, status="output_limit", returncode=143, truncated=True)
            or (None if 0 < len(b["stdout"]) <= 20000 else f"{len(b['stdout'])} characters")
        ),
    )


def file_job(i: int) -> tuple[dict, callable]:
    data = os.urandom(random.randint(0, 4096))
    files = [
        {
            "path": "main.py",
            "content": base64.b64encode(
                b"import lib.helper as h\nh.copy()\nprint('copied')"
            ).decode(),
        },
        {
            "path": "lib/helper.py",
            "content": base64.b64encode(
                b"def copy():\n    open('out.bin', 'wb').write(open('in.bin', 'rb').read())"
            ).decode(),
        },
        {"path": "in.bin", "content": base64.b64encode(data).decode()},
    ]
    expected = [{"path": "out.bin", "size": len(data), "content": base64.b64encode(data).decode()}]
    return {"args": ["main.py"], "files": files}, lambda b: _expect(
        b, stdout="copied\n", status="ok", files=expected
    )


def seccomp(i: int) -> tuple[dict, callable]:
    code = "import ctypes; ctypes.CDLL(None).syscall(101, 0, 0, 0, 0); print('survived')"
    return {"input": code}, lambda b: _expect(b, stdout="", status="signal", signal="SIGSYS")


def stdin_echo(i: int) -> tuple[dict, callable]:
    text = f"line {i} \u00e9\n"
    return {
        "input": "import sys; print(sys.stdin.read(), end='')",
        "stdin": text,
    }, lambda b: _expect(b, stdout=text, status="ok")


# Weights: mostly cheap jobs, with every kind of abuse present at every level.
MIX = [
    (hello, 30),
    (file_job, 15),
    (stdin_echo, 10),
    (fork_bomb, 10),
    (flood, 10),
    (seccomp, 10),
    (memory_bomb, 8),
    (timeout, 7),
]


@dataclasses.dataclass
class Answer:
    kind: str
    latency: float
    problem: str | None
    retries: int


class Client:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def request(
        self, method: str, path: str, document: dict | None = None, timeout: float = 120
    ) -> tuple[int, dict, dict]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            body = json.dumps(document).encode() if document is not None else None
            conn.request(
                method,
                path,
                body=body,
                headers={"Content-Type": "application/json"} if body else {},
            )
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, dict(resp.getheaders()), json.loads(raw) if raw else {}
        finally:
            conn.close()

    def job(self, make: callable, i: int) -> Answer:
        document, check = make(i)
        start = time.monotonic()
        for retries in range(RETRIES_503 + 1):
            try:
                status, headers, body = self.request("POST", "/eval", document)
            except (OSError, ValueError) as e:
                return Answer(make.__name__, time.monotonic() - start, f"no answer: {e!r}", retries)
            if status != 503:
                break
            time.sleep(float(headers.get("Retry-After", 1)) * random.uniform(0.5, 1.5))
        problem = f"HTTP {status}: {str(body)[:200]}" if status != 200 else check(body)
        return Answer(make.__name__, time.monotonic() - start, problem, retries)


# The server's side, read from /proc.
def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(pid: int) -> list[int]:
    return sorted(p for p in _pids() if _parent(p) == pid)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def master_of(port: int) -> int:
    """The gunicorn master serving `port`: of the processes holding its listening socket,
    the one whose parent does not hold it."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    holders = set()
    for pid in _pids():
        try:
            if any(
                os.readlink(f"/proc/{pid}/fd/{fd}") in wanted
                for fd in os.listdir(f"/proc/{pid}/fd")
            ):
                holders.add(pid)
        except OSError:
            pass
    masters = [p for p in holders if _parent(p) not in holders]
    if len(masters) != 1:
        sys.exit(f"soak: cannot tell the server's master process on port {port}: {masters}")
    return masters[0]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _idle_cgroups() -> set[str]:
    found = set()
    for parent in CGROUP_PARENTS:
        if parent.is_dir():
            for child in parent.iterdir():
                try:
                    if child.is_dir() and not (child / "cgroup.procs").read_text().strip():
                        found.add(str(child))
                except OSError:
                    pass
    return found


@dataclasses.dataclass
class Snapshot:
    workers: dict[int, tuple[float, int]]  # pid: (RSS MiB, open descriptors)
    mounts: list[str]
    runs: list[str]
    nsjails: list[int]
    zombies: list[int]
    tmp: set[str]
    idle_cgroups: set[str]


def snapshot(master: int, work_dir: str) -> Snapshot:
    workers = {w: (_rss_mb(w), len(os.listdir(f"/proc/{w}/fd"))) for w in children(master)}
    family = {master, *workers}
    mounts = [
        line
        for line in Path(f"/proc/{master}/mounts").read_text().splitlines()
        if "snekbox-home" in line or "/runs/" in line.split()[1]
    ]
    runs_dir = Path(f"/proc/{master}/root{work_dir}/runs")
    runs = sorted(os.listdir(runs_dir)) if runs_dir.is_dir() else []
    nsjails, zombies = [], []
    for pid in _pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        state, parent = rest.split()[0], int(rest.split()[1])
        if parent in family and name == "nsjail":
            nsjails.append(pid)
        if parent in family and state == "Z":
            zombies.append(pid)
    # Another server's metrics directory (named after its master) is not this one's to clean.
    others = re.compile(rf"snekbox-metrics-(?!{master}-)")
    tmp = {
        n for n in os.listdir("/tmp") if ("nsjail" in n or "snekbox" in n) and not others.match(n)
    }
    return Snapshot(workers, mounts, runs, nsjails, zombies, tmp, _idle_cgroups())


def settle(
    master: int, work_dir: str, baseline: Snapshot | None, seconds: float, standby: int
) -> Snapshot:
    """A snapshot once the server is quiet: no jails but its `standby` warm ones,
    descriptors back to the baseline, or time up."""
    deadline = time.monotonic() + seconds
    while True:
        now = snapshot(master, work_dir)
        settled = baseline is None or all(
            now.workers.get(w, (0, -1))[1] <= fds for w, (_, fds) in baseline.workers.items()
        )
        quiet = settled and len(now.nsjails) <= standby and len(now.mounts) <= standby
        if quiet or time.monotonic() > deadline:
            return now
        time.sleep(0.2)


def compare(before: Snapshot, after: Snapshot, rss_bound: float, standby: int) -> list[str]:
    problems = []
    if set(after.workers) != set(before.workers):
        problems.append(
            f"workers changed (died or restarted): {sorted(before.workers)} -> "
            f"{sorted(after.workers)}"
        )
    for pid, (rss, fds) in before.workers.items():
        if pid in after.workers:
            rss_after, fds_after = after.workers[pid]
            if rss_after - rss > rss_bound:
                problems.append(f"worker {pid} grew from {rss:.1f} to {rss_after:.1f} MiB")
            if fds_after > fds:  # fewer is fine: a client's socket may close late
                problems.append(f"worker {pid} holds {fds_after} descriptors, {fds} before")
    # Warm jails wait for jobs to come: up to `standby` of them are expected, no more.
    for what in ("mounts", "runs", "nsjails"):
        if len(getattr(after, what)) > standby:
            problems.append(
                f"left behind: {what} {getattr(after, what)[:5]} "
                f"(more than the {standby} warm jails)"
            )
    if after.zombies:
        problems.append(f"left behind: zombies {after.zombies[:5]}")
    if after.tmp - before.tmp:
        problems.append(f"left behind in /tmp: {sorted(after.tmp - before.tmp)}")
    # Other services on the host may share NSJAIL: only count cgroups that stay empty.
    time.sleep(1)
    leaked = (after.idle_cgroups - before.idle_cgroups) & _idle_cgroups()
    if leaked:
        problems.append(f"left behind: cgroups {sorted(leaked)[:5]}")
    return problems


# Driving it.
def run_level(client: Client, concurrency: int, jobs: int, deadline: float) -> list[Answer]:
    kinds, weights = zip(*MIX, strict=True)
    plan = random.choices(kinds, weights, k=jobs)
    answers: list[Answer] = []
    lock = threading.Lock()

    def one(item: tuple[int, callable]) -> None:
        if time.monotonic() > deadline:
            return
        answer = client.job(item[1], item[0])
        with lock:
            answers.append(answer)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, enumerate(plan)))
    return answers


def report_level(concurrency: int, answers: list[Answer], seconds: float) -> None:
    latencies = sorted(a.latency for a in answers) or [0.0]
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    wrong = sum(1 for a in answers if a.problem)
    retried = sum(a.retries for a in answers)
    print(
        f"  concurrency {concurrency:3}: {len(answers):5} jobs in {seconds:6.1f} s "
        f"({len(answers) / max(seconds, 1e-9):5.1f}/s), latency p50 "
        f"{statistics.median(latencies):.2f} s p95 {p95:.2f} s, 503 retries {retried}, "
        f"wrong {wrong}",
        flush=True,
    )


def start_server(workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "snekbox"), "serve", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**os.environ, "SNEKBOX_WORKERS": str(workers)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = Client("127.0.0.1", port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("soak: the server did not start (run scripts/serve to see why)")
        try:
            if client.request("GET", "/health", timeout=5)[0] == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    sys.exit("soak: the server did not become healthy in 60 s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running snekbox on loopback (default: start one)")
    parser.add_argument("--jobs", type=int, help="jobs per concurrency level (default 1000)")
    parser.add_argument(
        "--concurrency", help="comma-separated concurrency levels (default 1,4,16,48)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=1800,
        help="stop sending new jobs after this many seconds (default 1800)",
    )
    parser.add_argument(
        "--rss-growth", type=float, default=30, help="MiB each worker may grow by (default 30)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers of a started server")
    parser.add_argument(
        "--work-dir",
        default="/run/snekbox",
        help="the server's SNEKBOX_WORK_DIR (default /run/snekbox)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed of the job mix")
    parser.add_argument(
        "--standby",
        type=int,
        default=None,
        help="warm jails the server keeps (default: SNEKBOX_POOL_SIZE's default)",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="CI-sized defaults: 150 jobs per level at 2 and 12, about 20 s",
    )
    options = parser.parse_args(argv)
    options.jobs = options.jobs or (150 if options.short else 1000)
    options.concurrency = options.concurrency or ("2,12" if options.short else "1,4,16,48")
    options.levels = [int(c) for c in options.concurrency.split(",") if c.strip()]
    if options.standby is None:
        options.standby = settings.current().pool_size
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    random.seed(options.seed)
    proc = None
    if options.url:
        url = urllib.parse.urlsplit(options.url)
        if url.hostname not in LOOPBACK or not url.port:
            sys.exit(
                "soak: --url must be http://127.0.0.1:PORT (or [::1], localhost): the "
                "leak checks read the server's processes on this machine"
            )
        host, port = url.hostname, url.port
    else:
        proc, port = start_server(options.workers)
        host = "127.0.0.1"
    try:
        client = Client(host, port)
        master = master_of(port)
        start = time.monotonic()
        deadline = start + options.duration
        print(f"soak: server pid {master} on port {port}; warming up", flush=True)
        for level in options.levels:  # every worker thread and allocation pattern, once
            run_level(client, level, min(options.jobs, 2 * level + 16), deadline)
        before = settle(master, options.work_dir, None, 10, options.standby)
        print(
            f"soak: baseline {before.workers} (MiB, descriptors); "
            f"{options.jobs} jobs at each of {options.levels}",
            flush=True,
        )
        answers: list[Answer] = []
        for level in options.levels:
            level_start = time.monotonic()
            got = run_level(client, level, options.jobs, deadline)
            report_level(level, got, time.monotonic() - level_start)
            answers += got
        after = settle(master, options.work_dir, before, 15, options.standby)
        print(f"soak: after {after.workers}", flush=True)
        problems = [f"{a.kind}: {a.problem}" for a in answers if a.problem]
        kinds = collections.Counter(a.kind for a in answers)
        print("soak: jobs by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        problems = problems[:20] + (
            [f"... {len(problems) - 20} more wrong answers"] if len(problems) > 20 else []
        )
        problems += compare(before, after, options.rss_growth, options.standby)
        if client.request("GET", "/health")[0] != 200:
            problems.append("the server is not healthy afterwards")
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    elapsed = time.monotonic() - start
    if problems:
        print(
            f"soak: FAILED after {len(answers)} jobs in {elapsed:.0f} s:",
            *problems,
            sep="\n  ",
            file=sys.stderr,
        )
        return 1
    print(
        f"soak: passed: {len(answers)} jobs in {elapsed:.0f} s, every answer right, "
        "nothing left behind"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
