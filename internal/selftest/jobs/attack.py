"""Helpers shared by the self-test's hostile jobs.

Every job prints one line per attempt, `RESULT <name> <value>`, where value
is OK when the attempt succeeded, the errno name (EPERM, ENOSPC, ...) when
it failed with an OSError, or a documented token for attempts that are
judged another way. Lines starting with DETAIL explain a value; the suite
prints them when an attack fails.
"""

import ctypes
import errno
import json
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

# Syscall numbers of the calls the C library has no wrapper for.
SYSCALLS = {
    "x86_64": {"clone": 56, "keyctl": 250, "add_key": 248, "bpf": 321, "io_uring_setup": 425, "clone3": 435},
    "aarch64": {"clone": 220, "keyctl": 219, "add_key": 217, "bpf": 280, "io_uring_setup": 425, "clone3": 435},
}[platform.machine()]


def report(name, value):
    print(f"RESULT {name} {value}", flush=True)


def detail(text):
    print(f"DETAIL {text}", flush=True)


def errname(code):
    return errno.errorcode.get(code, str(code))


def attempt(name, fn):
    """Run fn and report OK, or the errno name of the OSError it raised."""
    try:
        fn()
    except OSError as e:
        report(name, errname(e.errno))
    else:
        report(name, "OK")


def check(rc):
    """Raise OSError for a C call that returned -1."""
    if rc == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return rc


def syscall(name, *args):
    """Call a raw syscall by name; the arguments are C longs or buffers."""
    converted = [a if isinstance(a, ctypes.Array) else ctypes.c_long(a) for a in args]
    return check(libc.syscall(ctypes.c_long(SYSCALLS[name]), *converted))


def target():
    """The facts the suite wrote into the bundle: host listener port,
    another org's dataset file, host paths that must not leak, markers."""
    with open("/job/target.json") as f:
        return json.load(f)


def fork_bomb():
    """Fork until the kernel refuses, report the errno and exit 2: a fork
    bomb is about the terminal cause, so it does not exit 0."""
    import sys
    import time

    children = 0
    while True:
        try:
            pid = os.fork()
        except OSError as e:
            report("fork", errname(e.errno))
            detail(f"fork failed after {children} children")
            sys.exit(2)
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children += 1


def fill(path):
    """Write 1 MiB blocks to path until the filesystem is full. The loop
    stops after 1 GiB, so a missing size limit shows as OK or an OOM,
    never as a hang."""
    block = b"\0" * (1 << 20)
    with open(path, "wb") as f:
        for _ in range(1024):
            f.write(block)
            f.flush()
