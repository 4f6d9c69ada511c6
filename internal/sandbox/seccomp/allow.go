package seccomp

// allowed are the syscalls a job may make with any arguments. The comment
// of each group names the programs that need it. Names this kernel or libseccomp does not know (arm64
// has no open, stat or fork, for example) are skipped by runc.
//
// Not listed, so ENOSYS: SysV IPC and POSIX message queues, AIO, NUMA
// policy, mlock, vmsplice, memory protection keys, landlock, seccomp itself,
// the setuid family (the job has no capability to use them), sync and
// syncfs (host-wide flushes), and every syscall that needs a capability the
// job never has (chroot, sethostname, iopl, ...).
var allowed = concat(
	fileSyscalls,
	memorySyscalls,
	processSyscalls,
	signalSyscalls,
	timeSyscalls,
	eventSyscalls,
	networkSyscalls,
	infoSyscalls,
)

// fileSyscalls: Python's os and io modules, coreutils (ls, cp, cat, stat,
// touch, df), the dynamic loader, and /tmp scratch files.
var fileSyscalls = []string{
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"preadv", "pwritev", "preadv2", "pwritev2",
	"open", "openat", "openat2", "creat", "close", "close_range",
	"dup", "dup2", "dup3", "fcntl", "flock", "ioctl",
	"lseek", "fsync", "fdatasync", "truncate", "ftruncate", "fallocate", "fadvise64",
	"stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
	"access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getdents", "getdents64",
	"getcwd", "chdir", "fchdir", "umask",
	"mkdir", "mkdirat", "rmdir", "mknod", "mknodat",
	"rename", "renameat", "renameat2",
	"link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat",
	"chmod", "fchmod", "fchmodat", "fchmodat2",
	"chown", "fchown", "lchown", "fchownat",
	"utime", "utimes", "utimensat", "futimesat",
	"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
	"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
	"pipe", "pipe2",
	// Go's io.Copy between sockets treats any splice error other than
	// EINVAL as final, so splice must work; shutil and cp use sendfile
	// and copy_file_range.
	"sendfile", "copy_file_range", "splice", "tee",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	"memfd_create",
}

// memorySyscalls: every allocator and the dynamic loader. mprotect with
// PROT_EXEC stays allowed: ctypes and JITs need it.
var memorySyscalls = []string{
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync", "membarrier",
}

// processSyscalls: threads (pthread_create uses clone, see rules.go),
// subprocess (vfork, fork, execve, wait4), setsid daemons, Go's os/exec
// (pidfd_open, waitid) and glibc's per-thread setup (set_robust_list, rseq).
var processSyscalls = []string{
	"fork", "vfork", "execve", "execveat", "exit", "exit_group",
	"wait4", "waitid", "getpid", "getppid", "gettid",
	"getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget",
	"set_tid_address", "set_robust_list", "rseq", "futex", "restart_syscall",
	"arch_prctl", "prctl",
	"sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler", "sched_getattr",
	"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	"getpriority", "setpriority",
	"getrlimit", "setrlimit", "prlimit64", "getrusage",
}

// signalSyscalls: signal handlers, Python's signal module, Go's runtime
// (sigaltstack, tgkill for preemption) and kill within the pid namespace.
var signalSyscalls = []string{
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack",
	"signalfd", "signalfd4", "pause", "kill", "tkill", "tgkill",
	"pidfd_open", "pidfd_send_signal",
}

// timeSyscalls: reading clocks and sleeping. Setting clocks is denied with
// EPERM (deniedSyscalls).
var timeSyscalls = []string{
	"clock_gettime", "clock_getres", "clock_nanosleep", "gettimeofday", "time", "nanosleep", "times",
	"alarm", "getitimer", "setitimer",
	"timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	"timerfd_create", "timerfd_settime", "timerfd_gettime",
}

// eventSyscalls: asyncio and selectors (epoll), Go's netpoller (epoll,
// eventfd2), select and poll in older code.
var eventSyscalls = []string{
	"epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
	"poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2",
}

// networkSyscalls: TCP to the gateway listener and Unix sockets between a
// job's own processes. socket and socketpair are allowed only for some
// families and types (rules.go).
var networkSyscalls = []string{
	"bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
}

// infoSyscalls: uname, os.urandom (getrandom), sysconf (sysinfo) and
// sched_getcpu.
var infoSyscalls = []string{
	"uname", "sysinfo", "getrandom", "getcpu",
}

func concat(groups ...[]string) []string {
	var all []string
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}
