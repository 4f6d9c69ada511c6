import ctypes
import os

from attack import attempt, syscall


def setup():
    params = (ctypes.c_char * 120)()
    fd = syscall("io_uring_setup", 8, params)
    os.close(fd)


attempt("io_uring_setup", setup)
