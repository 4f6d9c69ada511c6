import ctypes
import os
import signal
import time

from attack import attempt, check, libc

PTRACE_TRACEME = 0
PTRACE_ATTACH = 16

libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]

attempt("ptrace_traceme", lambda: check(libc.ptrace(PTRACE_TRACEME, 0, None, None)))

child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
attempt("ptrace_attach", lambda: check(libc.ptrace(PTRACE_ATTACH, child, None, None)))
os.kill(child, signal.SIGKILL)
os.waitpid(child, 0)
