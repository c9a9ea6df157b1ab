"""Floods of output are cut at the limit quickly, and any bytes come back as valid JSON."""

import base64
import json
import time

import pytest

FLOODS = {
    "lines": "while True: print('x' * 1000)",
    "no newlines": "import sys\nwhile True: sys.stdout.write('y' * 4096)",
    "stderr": "import sys\nwhile True: sys.stderr.write('z' * 4096)",
    "one byte per write": "import os\nwhile True: os.write(1, b'w')",
    "binary": "import os\nwhile True: os.write(1, os.urandom(4096))",
}


def strict_json(raw: bytes) -> dict:
    """The body parsed as strictly valid UTF-8 JSON, with no lone surrogates anywhere."""
    text = raw.decode("utf-8")
    body = json.loads(text)
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    return body


@pytest.mark.parametrize("name", FLOODS)
def test_floods_are_capped_over_http(client, name):
    start = time.monotonic()
    resp = client.post("/eval", {"input": FLOODS[name], "limits": {"output": 200000}})
    assert time.monotonic() - start < 5
    assert resp.status == 200
    body = strict_json(resp.body)
    assert (body["status"], body["returncode"], body["truncated"]) == ("output_limit", 143, True)
    if name == "binary":
        assert 0 < len(body["stdout"]) <= 200000  # every invalid byte became one U+FFFD
    else:
        assert len(body["stdout"]) == 200000


def test_default_limit_flood_in_process(run, settings):
    start = time.monotonic()
    result = run("import sys\nwhile True: sys.stdout.write('q' * 65536)")
    assert time.monotonic() - start < 3
    assert result.truncated and len(result.stdout) == settings.output_limit


BINARY = r"""
import os
os.write(1, bytes(range(256)))
os.write(1, b"\x00\x1b[2J\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80\xef\xbf\xbe\n")
os.write(2, b"\xff stderr \xfe")
"""


def test_binary_output_is_valid_json(client):
    resp = client.post("/eval", {"input": BINARY})
    assert resp.status == 200
    body = strict_json(resp.body)
    assert body["returncode"] == 0
    stdout = body["stdout"]
    assert stdout[:128] == "".join(map(chr, range(128)))  # ASCII and control bytes intact
    assert "\ufffd" in stdout and "\x1b[2J" in stdout
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in stdout)
    assert stdout.endswith("\ufffd stderr \ufffd")


def test_binary_output_in_a_file_is_exact(client):
    body = client.eval(input="open('out.bin', 'wb').write(bytes(range(256)) * 3)")
    assert base64.b64decode(body["files"][0]["content"]) == bytes(range(256)) * 3
