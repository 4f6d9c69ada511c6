# 50 MiB of output: the run's log keeps the first bytes up to the cap.
import sys

block = (b"A" * 1023 + b"\n") * 1024
for _ in range(50):
    sys.stdout.buffer.write(block)
sys.stdout.buffer.flush()
