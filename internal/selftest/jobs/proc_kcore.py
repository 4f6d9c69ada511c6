# /proc/kcore is the kernel's memory. Reported as the errno when open
# fails, EMPTY when it reads no bytes (masked by /dev/null), DATA otherwise.
from attack import errname, report

try:
    with open("/proc/kcore", "rb") as f:
        data = f.read(4096)
except OSError as e:
    report("kcore", errname(e.errno))
else:
    report("kcore", "DATA" if data else "EMPTY")
