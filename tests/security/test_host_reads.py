"""Nothing a job leaves in /home makes the host read outside it, hang, or fail the request.

After a run, the service (as root, in its own mount namespace) walks the run's tmpfs for
output files; every trick below is tried against that walk.
"""

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import b64, unb64


def test_paths_longer_than_path_max_are_skipped_not_fatal(run):
    code = """
import os
open("top.txt", "w").write("top")
for i in range(25):  # 25 levels of 200-character names: over 4096 bytes of path
    name = chr(97 + i) * 200
    os.mkdir(name)
    os.chdir(name)
open("deep.txt", "w").write("bottom")
print(len(os.getcwd()) > 4096)
"""
    result = run(code)
    assert (result.stdout, result.returncode, result.status.value) == ("True\n", 0, "ok")
    assert [(f.path, f.content) for f in result.files] == [("top.txt", b"top")]


@pytest.fixture
def host_secret(tmp_path):
    """A host file no job may ever read back, and its token."""
    token = uuid.uuid4().hex
    path = tmp_path / "host-secret.txt"
    path.write_text(token)
    return path, token


def symlink_code(target: Path) -> str:
    relative = "../" * 8 + str(target).lstrip("/")  # from /run/snekbox/runs/<id> up to /
    return f"""
import os
os.symlink({str(target)!r}, "absolute.txt")
os.symlink({relative!r}, "relative.txt")
os.symlink({str(target.parent)!r}, "dir")
os.makedirs("sub/deeper")
os.symlink("../../" + {relative!r}, "sub/deeper/nested.txt")
os.remove("input.txt")
os.symlink({str(target)!r}, "input.txt")
os.symlink("/proc/1/environ", "environ")
open("own.txt", "w").write("own")
"""


def test_symlinks_yield_nothing_of_the_host(run, host_secret):
    target, _ = host_secret
    result = run(symlink_code(target), files={"input.txt": b"given"})
    assert result.returncode == 0, result.stdout
    assert [(f.path, f.content) for f in result.files] == [("own.txt", b"own")]


def test_symlinks_yield_nothing_of_the_host_over_http(client, host_secret):
    target, token = host_secret
    body = client.eval(
        input=symlink_code(target), files=[{"path": "input.txt", "content": b64("given")}]
    )
    assert body["returncode"] == 0, body["stdout"]
    assert [(f["path"], unb64(f["content"])) for f in body["files"]] == [("own.txt", b"own")]
    assert token not in json.dumps(body)


def test_hard_links_reach_only_the_jobs_own_files(run):
    code = """
import errno, os
for target in ("/etc/ld.so.cache", "/snekbin/python/default/bin/python", "/dev/null"):
    try:
        os.link(target, "link-" + os.path.basename(target))
        print("linked", target)
    except OSError as e:
        print(errno.errorcode[e.errno])
open("mine", "w").write("mine")
os.link("mine", "mine-too")
"""
    result = run(code)
    assert result.stdout == "EXDEV\nEXDEV\nEXDEV\n"
    assert [(f.path, f.content) for f in result.files] == [("mine", b"mine"), ("mine-too", b"mine")]


def test_fifos_sockets_and_whiteouts_are_skipped_without_blocking(run):
    code = """
import os, socket, stat
os.mkfifo("fifo")
os.mkfifo("input.txt.fifo")
socket.socket(socket.AF_UNIX).bind("socket")
try:
    os.mknod("whiteout", stat.S_IFCHR | 0o666, os.makedev(0, 0))  # allowed unprivileged
except OSError:
    pass
open("plain", "w").write("plain")
"""
    start = time.monotonic()
    result = run(code)
    assert time.monotonic() - start < 3
    assert result.returncode == 0, result.stdout
    assert [f.path for f in result.files] == ["plain"]


def test_a_10_gb_sparse_file_cannot_be_made_in_a_job(run):
    code = """
import errno
with open("sparse", "wb") as f:
    try:
        f.truncate(10 * 1024 ** 3)
        print("made")
    except OSError as e:
        print(errno.errorcode[e.errno])
"""
    start = time.monotonic()
    result = run(code)
    assert time.monotonic() - start < 3
    assert result.stdout == "EFBIG\n"  # rlimit_fsize
    assert [(f.path, f.content) for f in result.files] == [("sparse", b"")]


def test_a_10_gb_sparse_file_is_not_read_back(jobs):
    # No job can make one (rlimit_fsize); made here as root, the walk still skips it at once.
    with jobs.jail.workdir.new_run(jobs.jail.tmpfs_size, 65534) as home:
        with open(home.path / "sparse", "wb") as f:
            f.truncate(10 * 1024**3)
        (home.path / "small").write_bytes(b"small")
        start = time.monotonic()
        files = home.collect_outputs(100)
        assert time.monotonic() - start < 1
    assert [(f.path, f.content) for f in files] == [("small", b"small")]


def test_sparse_files_count_their_full_size_against_the_budget(run, settings):
    size = settings.tmpfs_size // 2 + 1
    code = f"""
for name in ("a", "b", "c"):
    with open(name, "wb") as f:
        f.truncate({size})
"""
    result = run(code)
    # Three files of over half the tmpfs each, using no space: only the first one fits.
    assert [(f.path, len(f.content)) for f in result.files] == [("a", size)]


DEEP_TREE = """
import os
open("top.txt", "w").write("top")
for level in range(2000):
    os.mkdir("d")
    os.chdir("d")
    if level in (10, 1999):
        open(f"at{level}.txt", "w").write(str(level))
print("depth reached")
"""


def test_a_tree_2000_deep_is_walked_only_so_far(run):
    start = time.monotonic()
    result = run(DEEP_TREE)
    assert time.monotonic() - start < 5
    assert result.stdout == "depth reached\n"
    assert [f.path for f in result.files] == ["d/" * 11 + "at10.txt", "top.txt"]


def test_a_tree_2000_deep_over_http(client):
    body = client.eval(input=DEEP_TREE)
    assert body["stdout"] == "depth reached\n"
    assert [f["path"] for f in body["files"]] == ["d/" * 11 + "at10.txt", "top.txt"]


MANY_FILES = """
import errno
made = 0
try:
    for i in range(20000):
        open(f"f{i:05}", "w").close()
        made += 1
except OSError as e:
    print(errno.errorcode[e.errno], made < 20000)
"""


def test_20000_files_stop_at_the_inode_limit_and_return_quickly(run, settings):
    start = time.monotonic()
    result = run(MANY_FILES)
    assert time.monotonic() - start < 8
    assert result.stdout == "ENOSPC True\n"
    assert len(result.files) == settings.max_output_files


def test_20000_files_over_http(client, settings):
    body = client.eval(input=MANY_FILES)
    assert body["stdout"] == "ENOSPC True\n"
    assert len(body["files"]) == settings.max_output_files


NAMES = """
import os
for name in (b"bad-\\xff\\xfe", b"latin-\\xe9", b"surrogate-\\xed\\xa0\\x80"):
    open(os.path.join(b"/home", name), "wb").write(b"x")
for name in ("new\\nline", 'quote"and\\\\back', "tab\\there", "snake-\\U0001f40d", "x" * 255):
    open(name, "w").write(name[:5])
"""
GOOD_NAMES = sorted(["new\nline", 'quote"and\\back', "tab\there", "snake-\U0001f40d", "x" * 255])


def test_names_that_are_not_utf8_are_skipped(run):
    result = run(NAMES)
    assert result.returncode == 0, result.stdout
    assert [f.path for f in result.files] == GOOD_NAMES


def test_names_that_are_not_utf8_over_http(client):
    resp = client.post("/eval", {"input": NAMES})
    assert resp.status == 200
    body = json.loads(resp.body.decode("utf-8"))  # strict: the whole body is valid UTF-8
    assert [f["path"] for f in body["files"]] == GOOD_NAMES
