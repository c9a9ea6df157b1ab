"""What jobs do every day still works under the seccomp policy and the pids limit of 1."""

import hashlib
import random

import pytest

# The jail runs this very interpreter, so the expected values can be computed here.
SHA256 = hashlib.sha256(b"snekbox").hexdigest()
random.seed(1)
RANDINT = random.randint(1, 10**6)

PROGRAMS = {
    "json": ("import json; print(json.loads(json.dumps({'a': [1, 2.5, None]})))",
             "{'a': [1, 2.5, None]}\n"),
    "re": ("import re; print(re.findall(r'(\\w)\\1', 'aabbcd'))", "['a', 'b']\n"),
    "decimal": ("from decimal import Decimal, getcontext; getcontext().prec = 30\n"
                "print(Decimal(1) / Decimal(7))", "0.142857142857142857142857142857\n"),
    "asyncio": ("""
import asyncio

async def worker(name, delay, out):
    await asyncio.sleep(delay)
    out.append(name)

async def main():
    out = []
    await asyncio.gather(worker("b", 0.05, out), worker("a", 0.01, out), worker("c", 0.1, out))
    queue = asyncio.Queue()
    await queue.put(42)
    print(out, await asyncio.wait_for(queue.get(), 1))

asyncio.run(main())
""", "['a', 'b', 'c'] 42\n"),
    "sqlite3 in memory": ("""
import sqlite3
db = sqlite3.connect(":memory:")
db.execute("create table t (x integer)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
print(db.execute("select sum(x), count(*) from t").fetchone())
""", "(4950, 100)\n"),
    "ctypes": ("import ctypes; libc = ctypes.CDLL(None); print(libc.abs(-42), libc.strlen(b'abc'))",
               "42 3\n"),
    "hashlib": ("import hashlib; print(hashlib.sha256(b'snekbox').hexdigest(), "
                "hashlib.md5(b'').hexdigest()[:8], hashlib.blake2b(b'x').digest_size)",
                f"{SHA256} d41d8cd9 64\n"),
    "zlib": ("import zlib; data = b'snek' * 1000; packed = zlib.compress(data)\n"
             "print(zlib.decompress(packed) == data, len(packed) < 100)", "True True\n"),
    "random": ("import random, secrets; random.seed(1); print(random.randint(1, 10**6), "
               "len(secrets.token_bytes(16)), random.SystemRandom().random() < 1)",
               f"{RANDINT} 16 True\n"),
    "datetime": ("import datetime, time, zoneinfo\n"
                 "d = datetime.datetime(2024, 2, 29, 12, tzinfo=datetime.timezone.utc)\n"
                 "print(d + datetime.timedelta(days=1), time.time() > 1.7e9, "
                 "time.monotonic() > 0)", "2024-03-01 12:00:00+00:00 True True\n"),
    "threading primitives": ("""
import threading, queue
lock, rlock, event = threading.Lock(), threading.RLock(), threading.Event()
with lock, rlock, rlock:
    pass
event.set()
cond, sem, local = threading.Condition(), threading.Semaphore(2), threading.local()
with cond:
    cond.notify_all()
    ready = cond.wait_for(lambda: True, timeout=0.01)
with sem:
    local.value = 1
q = queue.Queue()
q.put(1)
print(event.wait(0.01), ready, q.get(timeout=1), local.value, threading.active_count())
""", "True True 1 1 1\n"),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_stdlib_module_works(run, name):
    code, expected = PROGRAMS[name]
    result = run(code)
    assert (result.returncode, result.status.value) == (0, "ok"), result.stdout
    assert result.stdout == expected


def test_multiprocessing_fails_with_a_clean_exception(run):
    code = """
import multiprocessing

def square(x):
    return x * x

for attempt in (lambda: multiprocessing.Process(target=square, args=(2,)).start(),
                lambda: multiprocessing.Pool(2), multiprocessing.Lock):
    try:
        attempt()
        print("started")
    except OSError as e:
        print(type(e).__name__, e.errno)
print("still running")
"""
    result = run(code)
    assert (result.returncode, result.status.value, result.signal) == (0, "ok", None)
    # fork is refused by the pids cgroup (EAGAIN); a Pool or a Lock needs POSIX semaphores
    # in /dev/shm, which does not exist: either way an OSError the program can catch.
    assert result.stdout == ("BlockingIOError 11\nFileNotFoundError 2\nFileNotFoundError 2\n"
                             "still running\n")
