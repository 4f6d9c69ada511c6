# Overwriting the binary behind /proc/self/exe is how CVE-2019-5736
# replaced runc on the host.
import os

from attack import attempt


def open_write(flags):
    os.close(os.open("/proc/self/exe", flags))


attempt("self_exe_wronly", lambda: open_write(os.O_WRONLY))
attempt("self_exe_rdwr", lambda: open_write(os.O_RDWR))
