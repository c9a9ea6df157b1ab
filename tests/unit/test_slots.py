import threading

import pytest

from snekbox.jobs import Overloaded, Slots


def test_refuses_at_once_when_queue_is_full():
    slots = Slots(size=1, queue=1)
    release = threading.Event()
    entered = threading.Event()

    def hold():
        with slots.hold():
            entered.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait()
    waiter = threading.Thread(target=hold)
    waiter.start()
    while slots._waiting == 0:
        pass
    with pytest.raises(Overloaded):
        with slots.hold():
            pass
    release.set()
    holder.join()
    waiter.join()
    assert slots.running == 0


def test_slots_are_reused():
    slots = Slots(size=2, queue=0)
    for _ in range(5):
        with slots.hold():
            assert slots.running == 1
