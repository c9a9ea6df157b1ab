"""Where a server's CPU goes: perf samples sorted by process, and finding the server."""

import os
import socket
import subprocess
import sys
import time

from snekbox import bench_cpu

HZ = bench_cpu.SAMPLE_HZ
SCRIPT = """\
         swapper     0 PERF_RECORD_FORK(1:1):(0:0)
        kthreadd     0 PERF_RECORD_FORK(50:50):(2:2)
          python   100 PERF_RECORD_FORK(101:105):(100:100)
          python   100 PERF_RECORD_FORK(200:200):(100:100)
          nsjail   200 PERF_RECORD_FORK(201:201):(200:200)
          python   100      7f0000001000
          python   100  ffffffff81000000
          nsjail   200      7f0000002000
          nsjail   201  ffffffff81000010
      python3.11   201      7f0000003000
     kworker/0:1    50  ffffffff81000020
         swapper     0  ffffffff81000030
     Web Content   300      7f0000004000
          nsjail   400      7f0000005000
"""


def test_samples_are_sorted_by_the_process_tree_of_the_server():
    parts = bench_cpu._sort(SCRIPT, {100})
    assert {part: round(s * HZ) for part, s in parts["all"].items()} == {
        "interpreter": 1,
        "nsjail": 2,
        "service": 2,
        "kernel threads": 1,
        "other processes": 2,  # an nsjail that is not the server's counts as other
    }
    assert {part: round(s * HZ) for part, s in parts["kernel mode"].items()} == {
        "interpreter": 0,
        "nsjail": 1,
        "service": 1,
        "kernel threads": 1,
        "other processes": 0,
    }


def test_the_server_is_the_process_holding_the_listening_socket():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        assert bench_cpu.server_pids(listening.getsockname()[1]) == {os.getpid()}


def test_perf_profile_sees_the_server_and_its_children():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
        with bench_cpu.profile(bench_cpu.server_pids(listening.getsockname()[1])) as parts:
            time.sleep(0.5)  # perf starts meanwhile
            subprocess.run([sys.executable, "-c", busy], check=True)
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
    assert parts["all"]["interpreter"] > 0.1
    assert parts["all"]["service"] > 0.1


def test_busy_time_only_grows():
    before = bench_cpu.busy_seconds()
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    assert bench_cpu.busy_seconds() > before
