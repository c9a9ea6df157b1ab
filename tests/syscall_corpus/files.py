"""Files in /home, the job's only writable place: everything a program does with them."""

import dbm.dumb
import fcntl
import mmap
import os
import pathlib
import shelve
import shutil
import sqlite3
import stat
import tarfile
import tempfile
import zipfile

home = pathlib.Path("/home")
assert pathlib.Path.cwd() == home and os.environ["HOME"] == "/home"
(home / "a.txt").write_text("snekbox\n")
assert (home / "a.txt").read_text() == "snekbox\n"
with open(home / "a.txt", "a+b") as f:
    f.write(b"more\n")
    f.flush()
    os.fsync(f.fileno())
    f.seek(0)
    assert f.read() == b"snekbox\nmore\n"
    fcntl.flock(f, fcntl.LOCK_EX)
    fcntl.lockf(f, fcntl.LOCK_UN)
    assert fcntl.fcntl(f, fcntl.F_GETFL) & os.O_APPEND
    with mmap.mmap(f.fileno(), 0) as mapped:
        assert mapped[:7] == b"snekbox"
os.makedirs(home / "d/e", exist_ok=True)
shutil.copy(home / "a.txt", home / "d/e/b.txt")
shutil.copytree(home / "d", home / "d2")
os.rename(home / "d2", home / "d3")
os.symlink("a.txt", home / "link")
os.link(home / "a.txt", home / "hard")
assert os.readlink(home / "link") == "a.txt" and os.stat(home / "hard").st_nlink == 2
os.chmod(home / "a.txt", 0o600)
os.utime(home / "a.txt", (0, 0))
os.truncate(home / "a.txt", 3)
assert stat.S_IMODE(os.lstat(home / "a.txt").st_mode) == 0o600
assert os.path.getsize(home / "a.txt") == 3 and os.access(home / "a.txt", os.R_OK)
assert sorted(p.name for p in home.glob("d3/**/*.txt")) == ["b.txt"]
assert [e.name for e in os.scandir(home / "d/e")] == ["b.txt"]
assert sum(len(files) for _, _, files in os.walk(home)) >= 4
assert os.statvfs(home).f_bsize > 0
os.mkfifo(home / "fifo")
with tempfile.TemporaryDirectory() as scratch, tempfile.NamedTemporaryFile() as named:
    assert scratch.startswith("/home") and named.name.startswith("/home")
with zipfile.ZipFile(home / "z.zip", "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("inner.txt", "zipped")
with tarfile.open(home / "t.tar.gz", "w:gz") as archive:
    archive.add(home / "d", arcname="d")
with tarfile.open(home / "t.tar.gz") as archive:
    archive.extractall(home / "untarred", filter="data")
assert (home / "untarred/d/e/b.txt").exists()
with shelve.Shelf(dbm.dumb.open(str(home / "shelf"))) as shelf:
    shelf["k"] = [1, 2]
db = sqlite3.connect(home / "db.sqlite")
db.execute("create table t (x integer)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
db.commit()
assert db.execute("select sum(x) from t").fetchone() == (4950,)
db.close()
memory = sqlite3.connect(":memory:")
assert memory.execute("select 1").fetchone() == (1,)
shutil.rmtree(home / "d")
os.remove(home / "hard")
print("corpus ok")
