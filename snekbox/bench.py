"""`snekbox bench [URL] [--json FILE]`: measure a running server against the speed targets.

It starts no server. In one run of under two minutes it measures the same-run baselines
(a bare `/usr/bin/python3 -I -c pass` process, back to back and PAUSE seconds apart, and
a bare nsjail + python run through snekbox.jail in this process, without HTTP),
hello-world requests on an otherwise idle server (one at a time, PAUSE seconds apart) and
back to back, throughput and latency at concurrency 1, 2, 4 and 8, hello-world latency
(PAUSE apart) while two clients keep `time.sleep(2)` jobs running, sixteen concurrent
one-second sleepers, and a POST /judge of 20 hello-world cases against 20 /eval requests
sent at once; then it prints PASS or FAIL per target.

Each figure is set against a baseline measured the same way. After a pause, anything
runs slower at first (cold CPU caches; on a virtual machine, milliseconds), so idle
latency is compared with Python started PAUSE apart, and throughput with Python started
back to back. Both comparisons are printed either way. Every request goes to the URL's
host only.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BARE_PYTHON = ["/usr/bin/python3", "-I", "-c", "pass"]
HELLO = {"input": "print('hello world')"}
HELLO_OUT = "hello world\n"
LEVELS = (1, 2, 4, 8)
LEVEL_SECONDS = 4.0
SEQUENTIAL = 300
IDLE = 100
PAUSE = 0.1
SLEEPER_WINDOW = 8.0
# No sequential phase or baseline runs longer than this, so the whole run stays bounded.
PHASE_SECONDS = 12.0
REQUEST_TIMEOUT = 30.0
JUDGE_CASES = 20


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
        "jobs_per_s": round(len(latencies) / elapsed, 1),
        "failed": len(failures),
        **percentiles(latencies),
    }


def under_sleepers(target: Target, window: float) -> tuple[list[float], int, int]:
    """Hello-world latencies while two clients run `time.sleep(2)` jobs in a loop."""
    stop = threading.Event()
    sleeper_results: list[bool] = []

    def sleeper() -> None:
        while not stop.is_set():
            status, _, body = target.eval({"input": "import time; time.sleep(2)"})
            sleeper_results.append(status == 200 and body["returncode"] == 0)

    threads = [threading.Thread(target=sleeper) for _ in range(2)]
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
    return samples, failed, sleeper_results.count(False)


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
    jail, jail_note = bare_jail()
    idle_samples, idle_failed = sequential(target, IDLE, PAUSE)
    seq, seq_failed = sequential(target, SEQUENTIAL)
    levels = [concurrent(target, c, LEVEL_SECONDS) for c in LEVELS]
    time.sleep(1)
    loaded, loaded_failed, sleepers_failed = under_sleepers(target, SLEEPER_WINDOW)
    time.sleep(1)
    idle_after, _ = sequential(target, IDLE // 2, PAUSE)
    wall16, failed16 = sixteen_sleepers(target)
    judging = judge_against_evals(target)
    python += bare_python(40)
    python_paced += bare_python(20, PAUSE)

    start_ms = statistics.median(python) * 1000
    start_paced_ms = statistics.median(python_paced) * 1000
    idle = percentiles(idle_samples)
    idle_p50 = statistics.median(idle_samples + idle_after) * 1000
    under = percentiles(loaded)
    c4 = levels[LEVELS.index(4)]
    needed = 1.5 / (start_ms / 1000)
    figures = {
        "url": url,
        "baseline_python_ms": round(start_ms, 2),
        "baseline_python_paced_ms": round(start_paced_ms, 2),
        "baseline_jail_ms": round(statistics.median(jail) * 1000, 2) if jail else None,
        "baseline_jail_note": jail_note,
        "pause_s": PAUSE,
        "idle": {**idle, "n": len(idle_samples), "failed": idle_failed},
        "back_to_back": {**percentiles(seq), "n": len(seq), "failed": seq_failed},
        "concurrency": levels,
        "two_sleepers": {
            **under,
            "n": len(loaded),
            "failed": loaded_failed,
            "sleepers_failed": sleepers_failed,
            "idle_p50": round(idle_p50, 2),
        },
        "sixteen_sleepers": {"seconds": round(wall16, 2), "failed": failed16},
        "judge": judging,
        "same_pace": {
            "idle_vs_paced_start": under_target(idle["p50"], start_paced_ms),
            "back_to_back_vs_start": under_target(percentiles(seq)["p50"], start_ms),
        },
        "targets": {
            "latency": under_target(idle["p50"], start_paced_ms),
            "throughput_c4": {
                "value": c4["jobs_per_s"],
                "limit": round(needed, 1),
                "ratio": round(c4["jobs_per_s"] / needed, 2),
                "pass": c4["jobs_per_s"] >= needed and c4["failed"] == 0,
            },
            "two_sleepers": under_target(
                under["p50"], 1.5 * idle_p50, loaded_failed + sleepers_failed == 0
            ),
            "sixteen_sleepers": under_target(round(wall16 * 1000, 1), 3000, failed16 == 0),
            "judge": {
                "value": judging["judge_cases_per_s"],
                "limit": judging["evals_per_s"],
                "ratio": round(judging["judge_cases_per_s"] / judging["evals_per_s"], 2),
                "pass": judging["judge_cases_per_s"] >= judging["evals_per_s"]
                and judging["failed"] == 0,
            },
        },
    }
    report(figures)
    if json_file:
        Path(json_file).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def under_target(value: float | None, limit: float, ok: bool = True) -> dict:
    passed = value is not None and value <= limit and ok
    return {
        "value": value,
        "limit": round(limit, 2),
        "ratio": round(value / limit, 2) if value is not None else None,
        "pass": passed,
    }


def report(f: dict) -> None:
    idle, seq = f["idle"], f["back_to_back"]
    sleepers, targets = f["two_sleepers"], f["targets"]
    print(f"snekbox at {f['url']}")
    print(
        f"baseline  /usr/bin/python3 -I -c pass: p50 {f['baseline_python_ms']} ms back to "
        f"back, {f['baseline_python_paced_ms']} ms {f['pause_s']} s apart"
    )
    print(
        f"baseline  nsjail + python, no HTTP:    p50 {f['baseline_jail_ms']} ms "
        f"({f['baseline_jail_note']})"
    )
    print(
        f"hello-world, idle server, {f['pause_s']} s apart (n={idle['n']}, failed "
        f"{idle['failed']}): p50 {idle['p50']} ms  p90 {idle['p90']} ms  p99 {idle['p99']} ms"
    )
    print(
        f"hello-world, back to back (n={seq['n']}, failed {seq['failed']}): "
        f"p50 {seq['p50']} ms  p90 {seq['p90']} ms  p99 {seq['p99']} ms"
    )
    print("concurrency  jobs/s   p50 ms   p90 ms   p99 ms  failed/refused")
    for level in f["concurrency"]:
        print(
            f"{level['clients']:>11}  {level['jobs_per_s']:>6}  {level['p50']:>7}  "
            f"{level['p90']:>7}  {level['p99']:>7}  {level['failed']:>6}"
        )
    print(
        f"two sleepers: hello-world p50 {sleepers['p50']} ms  p90 {sleepers['p90']} ms "
        f"(idle p50 {sleepers['idle_p50']} ms; failed {sleepers['failed']}, "
        f"sleepers failed {sleepers['sleepers_failed']})"
    )
    print(
        f"sixteen 1 s sleepers: all done in {f['sixteen_sleepers']['seconds']} s "
        f"(failed {f['sixteen_sleepers']['failed']})"
    )
    judging = f["judge"]
    print(
        f"judge of {judging['cases']} hello-world cases: {judging['judge_cases_per_s']} "
        f"cases/s; {judging['cases']} /eval requests at once: {judging['evals_per_s']} "
        f"jobs/s (failed {judging['failed']})"
    )
    print("hello-world p50 against python start-up at the same pace:")
    for key, name in (
        ("idle_vs_paced_start", f"both {f['pause_s']} s apart"),
        ("back_to_back_vs_start", "both back to back"),
    ):
        t = f["same_pace"][key]
        print(f"  {name}: {t['value']} vs {t['limit']} ms (ratio {t['ratio']})")
    print("targets:")
    names = {
        "latency": "idle hello-world p50 <= python start-up, same pace (ms)",
        "throughput_c4": "jobs/s at concurrency 4 >= 1.5 per back-to-back start-up",
        "two_sleepers": "p50 under two sleepers <= 1.5x idle p50 (ms)",
        "sixteen_sleepers": "16 one-second sleepers done in < 3 s (ms)",
        "judge": "judge cases/s >= as many /eval requests at once, jobs/s",
    }
    for key, name in names.items():
        t = targets[key]
        print(f"  {verdict(t['pass'])}  {name}: {t['value']} vs {t['limit']} (ratio {t['ratio']})")
