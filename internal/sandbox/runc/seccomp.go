package runc

import (
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM. Without a profile, a capability-less
// process can still create user namespaces (and through them reach kernel
// code that assumes CAP_SYS_ADMIN), call keyctl, ptrace its siblings and use
// io_uring, a frequent source of kernel exploits.
var deniedSyscalls = []string{
	// Namespaces and mounts: the way into most container breakouts.
	"unshare", "setns", "mount", "umount2", "pivot_root",
	"move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	// Reading or writing other processes' memory.
	"ptrace", "process_vm_readv", "process_vm_writev",
	// The kernel keyring is not namespaced.
	"keyctl", "add_key", "request_key",
	// Kernel attack surface jobs never need.
	"bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"init_module", "finit_module", "delete_module",
	"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
	// open_by_handle_at walks around mount boundaries (the "shocker"
	// breakout).
	"open_by_handle_at", "name_to_handle_at",
}

// denyListSeccomp returns the seccomp profile of every sandbox.
//
// TODO: replace this deny list with a default-deny allowlist of the
// syscalls Python and the shipped runtimes need.
func denyListSeccomp() *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)

	syscalls := []specs.LinuxSyscall{
		{Names: deniedSyscalls, Action: specs.ActErrno, ErrnoRet: &eperm},
		// clone with CLONE_NEWUSER creates a user namespace just as
		// unshare does. The flags are the first argument on x86 and arm.
		{
			Names:    []string{"clone"},
			Action:   specs.ActErrno,
			ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{
				Index:    0,
				Value:    unix.CLONE_NEWUSER,
				ValueTwo: unix.CLONE_NEWUSER,
				Op:       specs.OpMaskedEqual,
			}},
		},
		// seccomp cannot inspect clone3's flags (they are in a struct in
		// memory); ENOSYS makes glibc fall back to clone, filtered above.
		{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
	}

	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: seccompArchitectures(),
		Syscalls:      syscalls,
	}
}

// seccompArchitectures lists every syscall ABI the kernel accepts from a
// process of this architecture. A filter that names only the native ABI
// would let a process bypass the deny list through the 32-bit one
// (int 0x80 on x86_64).
func seccompArchitectures() []specs.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	default:
		return nil
	}
}
