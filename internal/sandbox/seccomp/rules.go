package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM whatever their arguments. Without a
// profile, a capability-less process can still create user namespaces (and
// through them reach kernel code written for CAP_SYS_ADMIN), call keyctl,
// ptrace its siblings and use io_uring, a frequent source of kernel exploits.
var deniedSyscalls = []string{
	// Namespaces and mounts: the way into most container breakouts.
	"unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
	"move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	// Reading or writing other processes' memory and file descriptors.
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
	// The kernel keyring is not namespaced.
	"keyctl", "add_key", "request_key",
	// Kernel attack surface jobs never need. userfaultfd makes kernel
	// races easy to win; io_uring bypasses this filter for the operations
	// it performs.
	"bpf", "perf_event_open", "userfaultfd", "fanotify_init",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	// Host-wide state, the kernel log and direct hardware access.
	"init_module", "finit_module", "delete_module",
	"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"syslog", "quotactl", "iopl", "ioperm", "modify_ldt",
	// open_by_handle_at walks around mount boundaries (the 2014 "shocker"
	// breakout from Docker).
	"open_by_handle_at", "name_to_handle_at",
}

// namespaceCloneFlags are the CLONE_NEW* flags clone(2) accepts.
// CLONE_NEWTIME (0x80) is left out: for clone(2) that bit belongs to the
// exit signal, and only unshare and clone3 take CLONE_NEWTIME.
var namespaceCloneFlags = []uint64{
	unix.CLONE_NEWNS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC,
	unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
}

// socketTypeMask selects the socket type from socket(2)'s second argument;
// the bits above it are SOCK_NONBLOCK and SOCK_CLOEXEC.
const socketTypeMask = 0xf

// allowedSockets are the (family, type) pairs a job may create: TCP and UDP
// over IPv4 and IPv6, and Unix sockets.
var allowedSockets = []struct{ family, typ uint64 }{
	{unix.AF_UNIX, unix.SOCK_STREAM}, {unix.AF_UNIX, unix.SOCK_DGRAM}, {unix.AF_UNIX, unix.SOCK_SEQPACKET},
	{unix.AF_INET, unix.SOCK_STREAM}, {unix.AF_INET, unix.SOCK_DGRAM},
	{unix.AF_INET6, unix.SOCK_STREAM}, {unix.AF_INET6, unix.SOCK_DGRAM},
}

// conditionalRules allow clone, socket, socketpair and personality for some
// argument values and deny the rest with EPERM.
//
// Rules with different actions never match the same call (the tests check
// this), so the result does not depend on how libseccomp orders them. A
// rule with several conditions matches when all of them hold; two rules
// for one syscall match when either does.
func conditionalRules() []specs.LinuxSyscall {
	var rules []specs.LinuxSyscall
	rules = append(rules, cloneRules()...)
	rules = append(rules, socketRules()...)
	rules = append(rules, socketpairRules()...)
	rules = append(rules, personalityRules()...)
	return rules
}

// cloneRules allow clone(2) without any CLONE_NEW* flag (threads, fork,
// vfork-style posix_spawn) and deny it with any of them.
func cloneRules() []specs.LinuxSyscall {
	var all uint64
	for _, f := range namespaceCloneFlags {
		all |= f
	}

	rules := []specs.LinuxSyscall{allowIf("clone", maskedEqual(0, all, 0))}
	for _, f := range namespaceCloneFlags {
		rules = append(rules, denyIf("clone", maskedEqual(0, f, f)))
	}
	return rules
}

// socketRules allow the pairs in allowedSockets and deny every other call:
// any other family (AF_NETLINK, AF_PACKET, AF_VSOCK, ... and values with
// high bits set), any other type (SOCK_RAW, SOCK_PACKET, ...) and
// SOCK_SEQPACKET over IP (SCTP). Python needs no netlink socket for TCP.
func socketRules() []specs.LinuxSyscall {
	var rules []specs.LinuxSyscall
	for _, s := range allowedSockets {
		rules = append(rules, allowIf("socket", equal(0, s.family), maskedEqual(1, socketTypeMask, s.typ)))
	}

	// Families below AF_INET6 other than AF_UNIX and AF_INET, then all
	// above it.
	for family := uint64(0); family < unix.AF_INET6; family++ {
		if family != unix.AF_UNIX && family != unix.AF_INET {
			rules = append(rules, denyIf("socket", equal(0, family)))
		}
	}
	rules = append(rules, denyIf("socket", specs.LinuxSeccompArg{Index: 0, Value: unix.AF_INET6 + 1, Op: specs.OpGreaterEqual}))

	for typ := uint64(0); typ <= socketTypeMask; typ++ {
		if typ != unix.SOCK_STREAM && typ != unix.SOCK_DGRAM && typ != unix.SOCK_SEQPACKET {
			rules = append(rules, denyIf("socket", maskedEqual(1, socketTypeMask, typ)))
		}
	}
	for _, family := range []uint64{unix.AF_INET, unix.AF_INET6} {
		rules = append(rules, denyIf("socket", equal(0, family), maskedEqual(1, socketTypeMask, unix.SOCK_SEQPACKET)))
	}
	return rules
}

// socketpairRules allow socketpair(2) for AF_UNIX, the only family that
// supports it, and deny the rest.
func socketpairRules() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{
		allowIf("socketpair", equal(0, unix.AF_UNIX)),
		denyIf("socketpair", specs.LinuxSeccompArg{Index: 0, Value: unix.AF_UNIX, Op: specs.OpNotEqual}),
	}
}

// personalityRules allow only personality(PER_LINUX), the default. Every
// other value is denied: ADDR_NO_RANDOMIZE turns off ASLR,
// READ_IMPLIES_EXEC makes every readable mapping executable, and
// MMAP_PAGE_ZERO maps page 0 (null-dereference exploits). The query form
// personality(0xffffffff) is denied too, because nothing moat runs uses it
// and seccomp cannot allow it without overlapping the deny rule.
func personalityRules() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{
		allowIf("personality", equal(0, 0)),
		denyIf("personality", specs.LinuxSeccompArg{Index: 0, Value: 0, Op: specs.OpNotEqual}),
	}
}

func allowIf(name string, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: args}
}

func denyIf(name string, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.EPERM), Args: args}
}

func equal(index uint, value uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Value: value, Op: specs.OpEqualTo}
}

// maskedEqual matches when (argument & mask) == value.
func maskedEqual(index uint, mask, value uint64) specs.LinuxSeccompArg {
	return specs.LinuxSeccompArg{Index: index, Value: mask, ValueTwo: value, Op: specs.OpMaskedEqual}
}
