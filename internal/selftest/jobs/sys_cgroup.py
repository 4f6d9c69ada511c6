import os

from attack import attempt


def write(path):
    with open(path, "w") as f:
        f.write("1\n")


attempt("sys_cgroup_procs", lambda: write("/sys/fs/cgroup/cgroup.procs"))
attempt("sys_cgroup_pids_max", lambda: write("/sys/fs/cgroup/pids/pids.max"))
attempt("sys_mkdir", lambda: os.mkdir("/sys"))
