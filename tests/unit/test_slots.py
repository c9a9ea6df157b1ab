"""Job slots: one limit and one queue for all worker processes, robust to a worker dying.

Each test uses the `jobs` fixture, so that its semaphores are made in the private IPC
namespace the jail's preparation entered, and vanish with this process.
"""

import os
import signal
import threading
import time

import pytest

from snekbox.jobs import Overloaded, Slots


def _hold_until(slots: Slots, release: threading.Event, entered: threading.Event) -> None:
    with slots.hold():
        entered.set()
        release.wait()


def test_refuses_at_once_when_queue_is_full(jobs):
    slots = Slots(size=1, queue=1)
    release, entered = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_until, args=(slots, release, entered))
    holder.start()
    entered.wait()
    waiter = threading.Thread(target=_hold_until, args=(slots, release, threading.Event()))
    waiter.start()
    while slots.waiting == 0:
        time.sleep(0.001)
    with pytest.raises(Overloaded, match="1 jobs are running and 1 waiting"):
        with slots.hold():
            pass
    release.set()
    holder.join()
    waiter.join()
    assert (slots.running, slots.waiting) == (0, 0)


def test_slots_are_reused(jobs):
    slots = Slots(size=2, queue=0)
    for _ in range(5):
        with slots.hold():
            assert slots.running == 1
    assert slots.running == 0


def test_slots_are_shared_with_forked_workers_and_given_back_when_one_dies(jobs):
    slots = Slots(size=1, queue=0)
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        with slots.hold():
            os.write(ready_write, b"x")
            time.sleep(60)
        os._exit(0)
    try:
        assert os.read(ready_read, 1) == b"x"
        assert slots.running == 1
        with pytest.raises(Overloaded):
            with slots.hold():
                pass
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(ready_read)
        os.close(ready_write)
    assert slots.running == 0
    with slots.hold():
        assert slots.running == 1


def test_slots_held_together_are_taken_all_at_once_or_not_at_all(jobs):
    slots = Slots(size=2, queue=0)
    with slots.hold():
        with pytest.raises(Overloaded):
            with slots.hold(2):
                pass
        assert slots.running == 1  # the one free slot was not taken by the refused pair
    with slots.hold(2):
        assert slots.running == 2
    assert slots.running == 0
    with pytest.raises(ValueError, match="3 slots"):
        with slots.hold(3):
            pass


def test_a_wait_for_slots_together_is_bounded(jobs):
    """Jobs of one slot can take the slots as they come free: a wait for several ends."""
    slots = Slots(size=2, queue=1)
    with slots.hold():
        with pytest.raises(Overloaded, match=r"2 job slots were not free together in 0\.2 s"):
            with slots.hold(2, wait=0.2):
                pass
        assert (slots.running, slots.waiting) == (1, 0)
