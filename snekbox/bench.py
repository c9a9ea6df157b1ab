"""`snekbox bench [URL] [--json FILE]`: measure a running server against the speed targets.

It starts no server. In one run of about two minutes it measures the same-run baselines
(a bare `/usr/bin/python3 -I -c pass` process, back to back and PAUSE seconds apart, and
the CPU it takes; a bare nsjail + python run through snekbox.jail in this process,
without HTTP), hello-world requests on an otherwise idle server (one at a time, PAUSE
seconds apart) and back to back, throughput and latency at concurrency 1, 2, 4 and 8 (4
for CPU_SECONDS, with the CPU per job: busy time on all cores over jobs done), where that
CPU goes (snekbox.bench_cpu, for a server on this host), hello-world latency (PAUSE
apart) while two clients keep `time.sleep(2)` jobs running and while four keep `while
True: pass` jobs running, sixteen concurrent one-second sleepers, and a POST /judge of 20
hello-world cases against 20 /eval requests sent at once; then it prints one table with
PASS or FAIL per target.

Each figure is set against a baseline measured the same way. After a pause, anything
runs slower at first (cold CPU caches; on a virtual machine, milliseconds), so idle
latency is compared with Python started PAUSE apart, and throughput with Python started
back to back. Both comparisons are printed either way. Every request goes to the URL's
host only.
"""

from __future__ import annotations

import http.client
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from snekbox import bench_cpu

BARE_PYTHON = ["/usr/bin/python3", "-I", "-c", "pass"]
HELLO = {"input": "print('hello world')"}
HELLO_OUT = "hello world\n"
JUDGE_CASES = 20
LEVELS = (1, 2, 4, 8)
LEVEL_SECONDS = 4.0
CPU_CLIENTS = 4
CPU_SECONDS = 10.0
PROFILE_SECONDS = 5.0
BUSY = {"input": "while True: pass"}
SEQUENTIAL = 300
IDLE = 100
PAUSE = 0.1
SLEEPER_WINDOW = 8.0
SLEEPER = {"input": "import time; time.sleep(2)"}
# No sequential phase or baseline runs longer than this, so the whole run stays bounded.
PHASE_SECONDS = 12.0
REQUEST_TIMEOUT = 30.0


class Target:
    """One URL's host and port; each request opens a connection of its own, like curl."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def eval(self, document: dict, path: str = "/eval") -> tuple[int, float, dict]:
        """(HTTP status, seconds, JSON body of a 200 or {}) of one POST /eval (or `path`)."""
        start = time.perf_counter()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("POST", path, json.dumps(document), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        return resp.status, elapsed, json.loads(raw) if resp.status == 200 else {}

    def hello(self) -> float | None:
        """Seconds of one hello-world request, or None when it failed or was refused."""
        try:
            status, elapsed, body = self.eval(HELLO)
        except OSError:
            return None
        return elapsed if status == 200 and body["stdout"] == HELLO_OUT else None


def percentiles(samples: list[float]) -> dict[str, float | None]:
    """p50/p90/p99 in milliseconds."""
    if not samples:
        return {"p50": None, "p90": None, "p99": None}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99)}


def bare_python(n: int, pause: float = 0.0) -> list[float]:
    """Seconds to run BARE_PYTHON as a process, `n` times, `pause` seconds apart."""
    samples: list[float] = []
    deadline = time.perf_counter() + PHASE_SECONDS
    while len(samples) < n and time.perf_counter() < deadline:
        time.sleep(pause)
        start = time.perf_counter()
        subprocess.run(BARE_PYTHON, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def start_up_cpu(n: int = 40) -> float:
    """CPU seconds (user and system) one BARE_PYTHON process takes, over `n` runs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = len(bare_python(n))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs


def bare_jail(n: int = 30) -> tuple[list[float], str]:
    """nsjail + python running `pass` through snekbox.jail in this process (needs root)."""
    from snekbox import settings
    from snekbox.jail import JailSetupError, RunSpec, prepare
    from snekbox.limits import JobLimits

    try:
        current = settings.current()
        jail = prepare(current)
    except (JailSetupError, OSError) as e:
        return [], f"skipped: {e}"
    limits = JobLimits(
        current.time_limit, current.memory_limit, current.output_limit, current.process_limit
    )
    spec = RunSpec(jail.runtimes["default"], ("-c", "pass"), limits)
    samples: list[float] = []
    deadline = time.perf_counter() + PHASE_SECONDS
    while len(samples) < n and time.perf_counter() < deadline:
        start = time.perf_counter()
        result = jail.run(spec)
        samples.append(time.perf_counter() - start)
        if result.returncode != 0:
            return [], f"failed: {result.status.value} {result.stdout[-300:]!r}"
    return samples, "ok"


def sequential(target: Target, n: int, pause: float = 0.0) -> tuple[list[float], int]:
    """`n` hello-world requests one at a time, `pause` seconds after each (fewer on a
    server too slow to answer them all within PHASE_SECONDS)."""
    samples: list[float | None] = []
    deadline = time.perf_counter() + PHASE_SECONDS
    while len(samples) < n and time.perf_counter() < deadline:
        samples.append(target.hello())
        time.sleep(pause)
    return [s for s in samples if s is not None], sum(s is None for s in samples)


def concurrent(target: Target, clients: int, seconds: float) -> dict:
    """`clients` threads posting hello-world back to back for `seconds`."""
    latencies: list[float] = []
    failures: list[float | None] = []
    deadline = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < deadline:
            elapsed = target.hello()
            if elapsed is None:
                failures.append(elapsed)
            else:
                latencies.append(elapsed)

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "clients": clients,
        "jobs": len(latencies),
        "jobs_per_s": round(len(latencies) / elapsed, 1),
        "failed": len(failures),
        **percentiles(latencies),
    }


def with_cpu(target: Target) -> tuple[dict, float]:
    """Concurrency CPU_CLIENTS for CPU_SECONDS, and the CPU seconds per job it took: busy
    time across all cores (everything on this host) over the jobs done."""
    before = bench_cpu.busy_seconds()
    level = concurrent(target, CPU_CLIENTS, CPU_SECONDS)
    return level, (bench_cpu.busy_seconds() - before) / max(level["jobs"], 1)


def breakdown(target: Target) -> dict[str, dict[str, float]]:
    """Milliseconds of CPU per job by part (bench_cpu.PARTS), at concurrency CPU_CLIENTS:
    in all, and of that in kernel mode. Empty without perf or a server on this host."""
    with bench_cpu.profile(bench_cpu.server_pids(target.port)) as parts:
        level = concurrent(target, CPU_CLIENTS, PROFILE_SECONDS)
    jobs = max(level["jobs"], 1)
    return {
        name: {part: round(seconds[part] * 1000 / jobs, 2) for part in bench_cpu.PARTS}
        for name, seconds in parts.items()
    }


def under_load(
    target: Target, window: float, document: dict, clients: int, returncode: int
) -> tuple[list[float], int, int]:
    """Hello-world latencies while `clients` run `document`'s job in a loop; also how
    many hello-worlds and how many of those jobs failed (not ending with `returncode`)."""
    stop = threading.Event()
    loop_results: list[bool] = []

    def loop() -> None:
        while not stop.is_set():
            status, _, body = target.eval(document)
            loop_results.append(status == 200 and body["returncode"] == returncode)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    samples: list[float] = []
    failed = 0
    deadline = time.perf_counter() + window
    while time.perf_counter() < deadline:
        elapsed = target.hello()
        if elapsed is None:
            failed += 1
        else:
            samples.append(elapsed)
        time.sleep(PAUSE)
    stop.set()
    for t in threads:
        t.join()
    return samples, failed, loop_results.count(False)


def sixteen_sleepers(target: Target) -> tuple[float, int]:
    """Wall seconds for 16 concurrent `time.sleep(1)` jobs, and how many did not succeed."""
    ok: list[bool] = []

    def one() -> None:
        status, _, body = target.eval({"input": "import time; time.sleep(1); print('up')"})
        ok.append(status == 200 and body["stdout"] == "up\n")

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, 16 - ok.count(True)


def judge_against_evals(target: Target, rounds: int = 3) -> dict:
    """Cases/s of a JUDGE_CASES-case hello-world judge, and jobs/s of as many hello-world
    /eval requests sent at once, in turn; the median of `rounds` of each."""
    judged, evaluated, failed = [], [], 0
    document = {**HELLO, "cases": [{"expected_stdout": HELLO_OUT}] * JUDGE_CASES}
    for _ in range(rounds):
        status, seconds, body = target.eval(document, "/judge")
        passed = body.get("summary", {}).get("passed", 0) if status == 200 else 0
        failed += JUDGE_CASES - passed
        judged.append(JUDGE_CASES / seconds)
        start = time.perf_counter()
        with ThreadPoolExecutor(JUDGE_CASES) as pool:
            results = list(pool.map(lambda _: target.hello(), range(JUDGE_CASES)))
        evaluated.append(JUDGE_CASES / (time.perf_counter() - start))
        failed += results.count(None)
    return {
        "cases": JUDGE_CASES,
        "judge_cases_per_s": round(statistics.median(judged), 1),
        "evals_per_s": round(statistics.median(evaluated), 1),
        "failed": failed,
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(url: str, json_file: str | None) -> int:
    """Measure the server at `url`; print the figures, and write them to `json_file`."""
    target = Target(url)
    if target.hello() is None:
        print(f"no working snekbox at {url}", file=sys.stderr)
        return 2
    for _ in range(10):
        target.hello()

    python = bare_python(40)
    python_paced = bare_python(20, PAUSE)
    python_cpu = start_up_cpu()
    jail, jail_note = bare_jail()
    idle_samples, idle_failed = sequential(target, IDLE, PAUSE)
    seq, seq_failed = sequential(target, SEQUENTIAL)
    levels = [concurrent(target, c, LEVEL_SECONDS) for c in LEVELS if c != CPU_CLIENTS]
    c4, cpu_per_job = with_cpu(target)
    levels = sorted([*levels, c4], key=lambda level: level["clients"])
    parts = breakdown(target)
    time.sleep(1)
    sleeping = under_load(target, SLEEPER_WINDOW, SLEEPER, 2, 0)
    time.sleep(1)
    busy = under_load(target, SLEEPER_WINDOW, BUSY, 4, 137)
    time.sleep(1)
    idle_after, _ = sequential(target, IDLE // 2, PAUSE)
    wall16, failed16 = sixteen_sleepers(target)
    judging = judge_against_evals(target)
    python += bare_python(40)
    python_paced += bare_python(20, PAUSE)
    python_cpu = (python_cpu + start_up_cpu()) / 2

    start_ms = statistics.median(python) * 1000
    start_paced_ms = statistics.median(python_paced) * 1000
    idle_p50 = statistics.median(idle_samples + idle_after) * 1000
    figures = {
        "url": url,
        "baseline_python_ms": round(start_ms, 2),
        "baseline_python_paced_ms": round(start_paced_ms, 2),
        "baseline_python_cpu_ms": round(python_cpu * 1000, 2),
        "baseline_jail_ms": round(statistics.median(jail) * 1000, 2) if jail else None,
        "baseline_jail_note": jail_note,
        "pause_s": PAUSE,
        "idle": {**percentiles(idle_samples), "n": len(idle_samples), "failed": idle_failed},
        "idle_p50": round(idle_p50, 2),
        "back_to_back": {**percentiles(seq), "n": len(seq), "failed": seq_failed},
        "concurrency": levels,
        "cpu_per_job_ms": round(cpu_per_job * 1000, 2),
        "cpu_breakdown_ms": parts,
        "two_sleepers": loaded(sleeping),
        "four_busy": loaded(busy),
        "sixteen_sleepers": {"seconds": round(wall16, 2), "failed": failed16},
        "judge": judging,
    }
    figures["targets"] = targets(figures, c4, python_cpu)
    report(figures)
    if json_file:
        Path(json_file).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def loaded(measured: tuple[list[float], int, int]) -> dict:
    samples, failed, loop_failed = measured
    return {**percentiles(samples), "n": len(samples), "failed": failed, "loop_failed": loop_failed}


def targets(f: dict, c4: dict, python_cpu: float) -> dict[str, dict]:
    """Each target: its value, its limit and whether it passed."""
    sleepers, busy = f["two_sleepers"], f["four_busy"]
    jobs_per_start_up = c4["jobs_per_s"] * python_cpu
    return {
        "idle hello-world p50 / python start-up 0.1 s apart <= 0.5": ratio(
            f["idle"]["p50"], f["baseline_python_paced_ms"], 0.5
        ),
        "back-to-back hello-world p50 / python start-up <= 1": ratio(
            f["back_to_back"]["p50"], f["baseline_python_ms"], 1.0
        ),
        "jobs/s at concurrency 4 x start-up CPU >= 1.2": {
            "value": round(jobs_per_start_up, 2),
            "limit": 1.2,
            "pass": jobs_per_start_up >= 1.2 and c4["failed"] == 0,
        },
        "hello-world p50 beside four busy loops / idle p50 <= 1.5": ratio(
            busy["p50"], f["idle_p50"], 1.5, busy["failed"] + busy["loop_failed"] == 0
        ),
        "hello-world p50 beside two sleepers / idle p50 <= 1.5": ratio(
            sleepers["p50"], f["idle_p50"], 1.5, sleepers["failed"] + sleepers["loop_failed"] == 0
        ),
        "sixteen 1 s sleepers done in < 3 s": {
            "value": f["sixteen_sleepers"]["seconds"],
            "limit": 3.0,
            "pass": f["sixteen_sleepers"]["seconds"] < 3 and f["sixteen_sleepers"]["failed"] == 0,
        },
        f"judge cases/s >= {f['judge']['cases']} /eval requests at once, jobs/s": {
            "value": f["judge"]["judge_cases_per_s"],
            "limit": f["judge"]["evals_per_s"],
            "pass": f["judge"]["judge_cases_per_s"] >= f["judge"]["evals_per_s"]
            and f["judge"]["failed"] == 0,
        },
    }


def ratio(value: float | None, baseline: float, limit: float, ok: bool = True) -> dict:
    """value / baseline against `limit`."""
    share = round(value / baseline, 2) if value is not None else None
    return {"value": share, "limit": limit, "pass": share is not None and share <= limit and ok}


def report(f: dict) -> None:
    """One table: every figure, then every target with PASS or FAIL."""
    idle, seq, pause = f["idle"], f["back_to_back"], f["pause_s"]
    breakdown = [
        (
            f"  of which {part} (perf)",
            f"{ms} ms, {f['cpu_breakdown_ms']['kernel mode'][part]} in kernel mode",
        )
        for part, ms in f["cpu_breakdown_ms"].get("all", {}).items()
    ] or [("  where it goes", "not measured: needs perf and a server on this host")]
    rows = [
        ("/usr/bin/python3 -I -c pass, back to back", f"{f['baseline_python_ms']} ms"),
        (f"/usr/bin/python3 -I -c pass, {pause} s apart", f"{f['baseline_python_paced_ms']} ms"),
        ("/usr/bin/python3 -I -c pass, CPU", f"{f['baseline_python_cpu_ms']} ms"),
        (
            "bare nsjail + python, no HTTP",
            f"{f['baseline_jail_ms']} ms ({f['baseline_jail_note']})",
        ),
        (f"idle hello-world, {pause} s apart", latencies(idle)),
        ("hello-world back to back", latencies(seq)),
        *(
            (f"concurrency {c['clients']}", f"{c['jobs_per_s']} jobs/s, " + latencies(c))
            for c in f["concurrency"]
        ),
        ("CPU per job at concurrency 4 (all cores)", f"{f['cpu_per_job_ms']} ms"),
        *breakdown,
        ("hello-world beside two sleepers", latencies(f["two_sleepers"])),
        ("hello-world beside four busy loops", latencies(f["four_busy"])),
        (
            "sixteen 1 s sleepers",
            f"{f['sixteen_sleepers']['seconds']} s, failed {f['sixteen_sleepers']['failed']}",
        ),
        (
            f"judge of {f['judge']['cases']} hello-world cases",
            f"{f['judge']['judge_cases_per_s']} cases/s; as many /eval at once "
            f"{f['judge']['evals_per_s']} jobs/s (failed {f['judge']['failed']})",
        ),
        *(
            (f"{verdict(t['pass'])} {name}", f"{t['value']} (limit {t['limit']})")
            for name, t in f["targets"].items()
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"snekbox at {f['url']}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def latencies(f: dict) -> str:
    failed = f["failed"] + f.get("loop_failed", 0)
    return f"p50 {f['p50']}  p90 {f['p90']}  p99 {f['p99']} ms (failed {failed})"
