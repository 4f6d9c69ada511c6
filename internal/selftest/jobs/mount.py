import os

from attack import attempt, check, libc

MNT_DETACH = 2

os.makedirs("/tmp/mnt", exist_ok=True)
attempt("mount_tmpfs", lambda: check(libc.mount(b"none", b"/tmp/mnt", b"tmpfs", 0, None)))
attempt("mount_proc", lambda: check(libc.mount(b"proc", b"/tmp/mnt", b"proc", 0, None)))
attempt("umount_proc", lambda: check(libc.umount2(b"/proc", MNT_DETACH)))
