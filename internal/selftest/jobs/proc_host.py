# Probes of the host details that the job's /proc could reveal.
#
# proc_pids: the pids listed in /proc; the job is pid 1 and has no
#   children, so anything but "1" is a process outside the job.
# ppid: 0 when pid 1's parent is outside the job's pid namespace.
# cgroup_paths: ROOT when every line of /proc/self/cgroup ends in "/" (the
#   cgroup namespace hides the host hierarchy), else LEAK.
# mountinfo_host_paths: NONE when no line of /proc/self/mountinfo contains
#   one of the host paths in target.json (the data directory, the state
#   directory, their unique base names, the run id and the default
#   /var/lib/moat and /run/moat), else LEAK. A bind mount's root field is
#   its source path on the host, so this is where host layout leaks.
import os

from attack import detail, report, target

pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
report("proc_pids", ",".join(str(p) for p in pids))
report("ppid", os.getppid())

with open("/proc/self/cgroup") as f:
    cgroup_lines = f.read().splitlines()
leaks = [line for line in cgroup_lines if line.split(":", 2)[2] != "/"]
for line in leaks:
    detail(f"cgroup: {line}")
report("cgroup_paths", "LEAK" if leaks else "ROOT")

host_paths = target()["host_paths"] + [os.environ["MOAT_RUN_ID"]]
with open("/proc/self/mountinfo") as f:
    mount_lines = f.read().splitlines()
leaks = [line for line in mount_lines if any(p in line for p in host_paths)]
for line in leaks:
    detail(f"mountinfo: {line}")
report("mountinfo_host_paths", "LEAK" if leaks else "NONE")
