"""Input files written into /home, and output files read back without leaking the host."""

import pytest

from snekbox.jobs import JobError, RequestError


def test_multi_file_program(run):
    files = {
        "main.py": b"import helper\nprint(helper.greet())",
        "helper.py": b"def greet():\n    return 'hi from helper'",
    }
    result = run(args=["main.py"], files=files)
    assert result.stdout == "hi from helper\n"


def test_nested_directories_are_created(run):
    result = run("print(open('a/b/c.txt').read())", files={"a/b/c.txt": b"deep"})
    assert result.stdout == "deep\n"


def test_output_files_exact_bytes_including_binary(run):
    payload = bytes(range(256)) * 4
    result = run(
        f"open('out.bin', 'wb').write({payload!r}); open('sub/t.txt', 'w').write('t')",
        files={"sub/keep": b""},
    )
    assert [(f.path, f.content) for f in result.files] == [
        ("out.bin", payload),
        ("sub/t.txt", b"t"),
    ]


def test_unchanged_inputs_and_hidden_names_are_not_returned(run):
    code = (
        "open('changed.txt', 'w').write('new'); open('.hidden', 'w').write('h');"
        "open('_private', 'w').write('p'); import os; os.mkdir('.d'); open('.d/x', 'w')"
    )
    result = run(code, files={"same.txt": b"same", "changed.txt": b"old"})
    assert [(f.path, f.content) for f in result.files] == [("changed.txt", b"new")]


@pytest.mark.parametrize(
    "link",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "/proc/self/environ",
        "/root/.bashrc",
        "/snekbin/python/default/bin/python",
    ],
)
def test_symlinks_leak_nothing_of_the_host(run, link):
    result = run(f"import os; os.symlink({link!r}, 'leak.txt'); os.symlink('/etc', 'dir')")
    assert result.returncode == 0
    assert result.files == ()


def test_hard_links_leak_nothing_of_the_host(run):
    code = """
import os
for target in ('/etc/ld.so.cache', '/usr/bin/python3'):
    try:
        os.link(target, 'hard')
        print('linked')
    except OSError as e:
        print(e.errno)
"""
    result = run(code)
    assert "linked" not in result.stdout
    assert result.files == ()


def test_fifos_and_sockets_are_skipped(run):
    code = "import os, socket; os.mkfifo('fifo'); socket.socket(socket.AF_UNIX).bind('sock')"
    result = run(code)
    assert result.returncode == 0
    assert result.files == ()


def test_files_returned_are_capped_in_number(run, settings):
    result = run("[open(f'f{i:03}', 'w').write(str(i)) for i in range(150)]")
    assert len(result.files) == settings.max_output_files


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../escape", "a/../../b", "a\0b", "", ".", "x/../..", "\ud800"]
)
def test_bad_input_paths_are_refused(run, path):
    with pytest.raises(RequestError):
        run("pass", files={path: b"x"})


def test_clashing_input_paths_are_refused(run):
    with pytest.raises(JobError):
        run("pass", files={"a": b"x", "a/b": b"y"})


def test_input_larger_than_tmpfs_is_refused(run, settings):
    with pytest.raises(RequestError):
        run("pass", files={"big": b"x" * (settings.tmpfs_size + 1)})
