# Two processes spin for 3 s of wall time. Processes, not threads: Python's
# GIL would keep two threads on one CPU.
import os
import time

from attack import report

DURATION = 3.0
start = time.monotonic()
pid = os.fork()
while time.monotonic() - start < DURATION:
    pass
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
report("spin", "OK")
