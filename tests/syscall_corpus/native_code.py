"""ctypes: calls into libc, callbacks from C into Python, and raw memory."""

import ctypes
import ctypes.util
import mmap

libc = ctypes.CDLL(None)
assert libc.abs(-42) == 42 and libc.strlen(b"abc") == 3 and libc.getpid() == 1
values = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), compare(lambda a, b: a[0] - b[0]))
assert list(values) == [1, 2, 3, 4, 5]
buffer = ctypes.create_string_buffer(b"snekbox")
assert ctypes.string_at(buffer) == b"snekbox"
libc.malloc.restype = ctypes.c_void_p
pointer = libc.malloc(1 << 20)
ctypes.memset(pointer, 0, 1 << 20)
libc.free(ctypes.c_void_p(pointer))
# Executable memory, as a JIT would make it: mapped, written, then made executable.
code = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
code.write(b"\xb8\x2a\x00\x00\x00\xc3")  # mov eax, 42; ret
address = ctypes.addressof(ctypes.c_char.from_buffer(code))
assert ctypes.CFUNCTYPE(ctypes.c_int)(address)() == 42
del address
assert ctypes.util.find_library("c") is None or "libc" in ctypes.util.find_library("c")
print("corpus ok")
