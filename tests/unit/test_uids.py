"""Leasing host uids to jails, with real lock files and processes."""

import os
import subprocess

import pytest

from snekbox.jail.uids import NoFreeUid, UidRange, clashes


def test_live_leases_never_share_a_uid(tmp_path):
    uids = UidRange(tmp_path / "uids", 1000, 5)
    leases = [uids.lease() for _ in range(5)]
    assert sorted(lease.uid for lease in leases) == [1000, 1001, 1002, 1003, 1004]
    with pytest.raises(NoFreeUid, match="JOB_UID_COUNT"):
        uids.lease()
    leases[2].close()
    assert uids.lease().uid == leases[2].uid


def test_workers_with_ranges_of_their_own_still_exclude_each_other(tmp_path):
    # Each worker has its own UidRange object over the same directory.
    first, second = UidRange(tmp_path, 7, 2), UidRange(tmp_path, 7, 2)
    assert {first.lease().uid, second.lease().uid} == {7, 8}
    with pytest.raises(NoFreeUid):
        first.lease()


def test_a_lease_outlives_the_service_side_while_nsjail_holds_it(tmp_path):
    uids = UidRange(tmp_path, 1, 1)
    lease = uids.lease()
    holder = subprocess.Popen(["sleep", "30"], pass_fds=(lease.fd,))
    try:
        lease.close()
        with pytest.raises(NoFreeUid):
            uids.lease()
    finally:
        holder.kill()
        holder.wait()
    uids.lease()


def test_each_process_starts_looking_at_a_place_of_its_own(tmp_path):
    uids = UidRange(tmp_path, 100, 1000)
    assert uids.lease().uid == 100 + os.getpid() % 1000
    child = os.fork()
    if child == 0:  # a worker forked after its parent made the range
        os._exit(0 if uids.lease().uid == 100 + os.getpid() % 1000 else 1)
    assert os.waitpid(child, 0)[1] == 0


def test_clashing_accounts_are_named():
    accounts = [("root", 0), ("alice", 1999), ("bob", 2000), ("carol", 2999), ("dave", 3000)]
    assert clashes(2000, 1000, accounts) == ["bob (2000)", "carol (2999)"]
