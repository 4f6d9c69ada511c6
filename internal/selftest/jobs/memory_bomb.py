# Allocate (and touch: bytearray zero-fills) 8 MiB at a time until the
# memory limit stops the process.
chunks = []
while True:
    chunks.append(bytearray(8 << 20))
