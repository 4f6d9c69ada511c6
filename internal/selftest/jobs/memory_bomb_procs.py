# Four processes allocate together; each one alone stays below the limit
# for a while. The parent exits 3 when a child was killed, so the run does
# not end as succeeded.
import os
import sys

from attack import report

children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        chunks = []
        while True:
            chunks.append(bytearray(4 << 20))
    children.append(pid)

killed = 0
for pid in children:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        killed += 1
report("children_killed", killed)
sys.exit(3 if killed else 0)
