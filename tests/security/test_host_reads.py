"""Nothing a job leaves in /home makes the host read outside it, hang, or fail the request.

After a run, the service (as root, in its own mount namespace) walks the run's tmpfs for
output files; every trick below is tried against that walk.
"""


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
