"""Threads, processes, signals and event loops with the default limit of one process."""

import asyncio
import concurrent.futures
import multiprocessing
import os
import queue
import resource
import select
import selectors
import signal
import subprocess
import sys
import threading
import time

# A job is one process: starting another fails with an exception the program can catch.
for start in (
    lambda: threading.Thread(target=print).start(),
    lambda: concurrent.futures.ThreadPoolExecutor(1).submit(print).result(),
    lambda: subprocess.run([sys.executable, "-c", "pass"]),
    lambda: multiprocessing.Process(target=print).start(),
    os.fork,
):
    try:
        start()
        raise AssertionError("a second process or thread started")
    except (OSError, RuntimeError):
        pass

lock, rlock, event = threading.Lock(), threading.RLock(), threading.Event()
with lock, rlock, rlock:
    event.set()
cond, local = threading.Condition(), threading.local()
with cond:
    cond.notify_all()
    assert cond.wait_for(lambda: True, timeout=0.01)
local.value = 1
jobs = queue.Queue()
jobs.put(1)
assert event.wait(0.01) and jobs.get(timeout=1) == 1 and threading.active_count() == 1

received = []
signal.signal(signal.SIGUSR1, lambda number, frame: received.append(number))
os.kill(os.getpid(), signal.SIGUSR1)
signal.raise_signal(signal.SIGUSR1)
signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
signal.signal(signal.SIGALRM, lambda number, frame: received.append(number))
signal.setitimer(signal.ITIMER_REAL, 0.01)
time.sleep(0.1)
signal.alarm(0)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR2])
assert received == [signal.SIGUSR1] * 3 + [signal.SIGALRM], received

read_end, write_end = os.pipe()
os.write(write_end, b"x")
poll = select.poll()
poll.register(read_end, select.POLLIN)
assert poll.poll(100) and select.select([read_end], [], [], 0.1)[0] == [read_end]
with select.epoll() as epoll:
    epoll.register(read_end, select.EPOLLIN)
    assert epoll.poll(0.1)
with selectors.DefaultSelector() as selector:
    selector.register(read_end, selectors.EVENT_READ)
    assert selector.select(0.1)
assert os.read(read_end, 1) == b"x"
os.set_blocking(read_end, False)
os.set_inheritable(read_end, True)
os.dup2(read_end, 100)
os.close(100)

assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 0
assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
assert os.getuid() == 65534 and os.getpid() == 1 and os.cpu_count()
os.nice(0)


async def worker(name, delay, out):
    await asyncio.sleep(delay)
    out.append(name)


async def main():
    out = []
    await asyncio.gather(worker("b", 0.05, out), worker("a", 0.01, out))
    assert out == ["a", "b"]
    messages = asyncio.Queue()
    await messages.put(42)
    assert await asyncio.wait_for(messages.get(), 1) == 42
    try:
        await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        raise AssertionError("a subprocess started")
    except OSError:
        pass


asyncio.run(main())
print("corpus ok")
