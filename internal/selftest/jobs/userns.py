# Four ways into a new user namespace: the unshare(1) command, the
# unshare(2) call, clone(2) with CLONE_NEWUSER and clone3(2).
import ctypes
import os
import signal
import subprocess

from attack import attempt, check, detail, libc, report, syscall

CLONE_NEWUSER = 0x10000000


def unshare_command():
    p = subprocess.run(["/usr/bin/unshare", "-U", "true"], capture_output=True, text=True)
    if p.returncode == 0:
        return "OK"
    detail(f"unshare -U exited {p.returncode}: {p.stderr.strip()}")
    if "Operation not permitted" in p.stderr:
        return "EPERM"
    return f"EXIT{p.returncode}"


def clone_newuser():
    pid = syscall("clone", CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def clone3_newuser():
    # struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
    # stack, stack_size, tls, set_tid, set_tid_size, cgroup.
    args = (ctypes.c_uint64 * 11)()
    args[0] = CLONE_NEWUSER
    args[4] = signal.SIGCHLD
    pid = syscall("clone3", args, ctypes.sizeof(args))
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


report("unshare_command", unshare_command())
attempt("unshare_user", lambda: check(libc.unshare(CLONE_NEWUSER)))
attempt("clone_newuser", clone_newuser)
attempt("clone3_newuser", clone3_newuser)
