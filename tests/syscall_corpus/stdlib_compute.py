"""Pure computation from the standard library: parsing, numbers, text, hashing, time."""

import base64
import bz2
import collections
import csv
import dataclasses
import datetime
import decimal
import fractions
import gzip
import hashlib
import hmac
import io
import itertools
import json
import locale
import logging
import lzma
import math
import pickle
import random
import re
import secrets
import statistics
import string
import struct
import sys
import textwrap
import time
import traceback
import unicodedata
import uuid
import warnings
import zlib

assert json.loads(json.dumps({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
assert re.findall(r"(\w)\1", "aabbcd") == ["a", "b"]
decimal.getcontext().prec = 30
assert str(decimal.Decimal(1) / decimal.Decimal(7)) == "0.142857142857142857142857142857"
assert fractions.Fraction(3, 9) + fractions.Fraction(1, 3) == fractions.Fraction(2, 3)
assert statistics.median([5, 1, 3]) == 3 and math.isclose(math.tau, 2 * math.pi)
data = b"snek" * 1000
for codec in (zlib, gzip, bz2, lzma):
    assert codec.decompress(codec.compress(data)) == data
assert base64.b64decode(base64.b64encode(data)) == data
assert len(hashlib.sha256(b"snekbox").hexdigest()) == 64
assert hmac.compare_digest(
    hmac.new(b"k", b"m", "sha256").digest(), hmac.new(b"k", b"m", "sha256").digest()
)
assert len(secrets.token_bytes(16)) == 16 and uuid.uuid4().version == 4
random.seed(1)
assert random.randint(1, 6) in range(1, 7) and 0 <= random.SystemRandom().random() < 1
assert struct.unpack("<I", struct.pack("<I", 42)) == (42,)
assert pickle.loads(pickle.dumps(collections.Counter("snekbox"))) == collections.Counter("snekbox")


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


assert Point(1, 2) == Point(1, 2) and list(itertools.accumulate([1, 2, 3])) == [1, 3, 6]
assert textwrap.wrap("a b c", 3) == ["a b", "c"] and string.ascii_lowercase[0] == "a"
assert unicodedata.name("🐍") == "SNAKE"
moment = datetime.datetime(2024, 2, 29, 12, tzinfo=datetime.UTC)
assert str(moment + datetime.timedelta(days=1)) == "2024-03-01 12:00:00+00:00"
assert time.time() > 1.7e9 and time.monotonic() > 0 and time.process_time() >= 0
time.sleep(0.01)
assert locale.getpreferredencoding() == "UTF-8" and sys.stdout.encoding == "utf-8"
rows = list(csv.reader(io.StringIO("a,b\n1,2\n")))
assert rows == [["a", "b"], ["1", "2"]]
logging.basicConfig(stream=io.StringIO())
logging.getLogger("corpus").warning("logged")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warnings.warn("careful")
assert len(caught) == 1
try:
    1 / 0
except ZeroDivisionError:
    assert "ZeroDivisionError" in traceback.format_exc()
print("corpus ok")
