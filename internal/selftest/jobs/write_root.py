# Every path outside /tmp (and /dev/shm) is read-only; /tmp must still work.
from attack import attempt


def write(path):
    with open(path, "w") as f:
        f.write("pwned")


for name, path in [
    ("write_root", "/pwned"),
    ("write_usr", "/usr/pwned"),
    ("write_etc", "/etc/pwned"),
    ("write_job", "/job/pwned"),
    ("write_tmp", "/tmp/allowed"),
]:
    attempt(name, lambda: write(path))
