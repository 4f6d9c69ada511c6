# A setuid-root binary of the host's /usr must not raise the job's
# privileges: no_new_privs, the nosuid /usr mount and (with user namespaces)
# the unmapped owner each keep the effective uid of the exec'd process.
# setuid_euid is UNCHANGED when the binary ran with the job's own euid,
# ROOT when it ran as root.
import ctypes
import os
import stat
import subprocess

from attack import detail, libc, report

PR_GET_NO_NEW_PRIVS = 39
CANDIDATES = ["/usr/bin/su", "/usr/bin/passwd", "/usr/bin/newgrp", "/usr/bin/chsh", "/usr/bin/mount"]

report("no_new_privs", libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))


def setuid(path):
    # Owner not checked: in a user namespace that does not map host root,
    # the host's root-owned files appear owned by the overflow uid (65534).
    try:
        return bool(os.stat(path).st_mode & stat.S_ISUID)
    except OSError:
        return False


binary = next((p for p in CANDIDATES if setuid(p)), None)
if binary is None:
    report("setuid_euid", "NO_SETUID_BINARY")
else:
    detail(f"exec {binary}, owned by uid {os.stat(binary).st_uid} as seen in the sandbox")
    # Popen returns once exec succeeded; until it is reaped the process (or
    # its zombie) keeps the credentials exec gave it.
    p = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(f"/proc/{p.pid}/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    euid = int(status["Uid"].split()[1])
    detail(f"Name {status['Name'].strip()} Uid {status['Uid'].strip()}")
    if euid == 0:
        report("setuid_euid", "ROOT")
    elif euid == os.geteuid():
        report("setuid_euid", "UNCHANGED")
    else:
        report("setuid_euid", f"UID{euid}")
    p.kill()
    p.communicate()
