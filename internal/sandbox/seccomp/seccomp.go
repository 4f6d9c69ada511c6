// Package seccomp is moat's seccomp profile for job sandboxes: a
// default-deny allowlist written for what jobs run (Python 3.11 with threads,
// subprocess and multiprocessing, /bin/sh with coreutils, static binaries)
// on x86_64 and arm64.
//
// # Actions
//
//   - Allowed: the syscalls in allowed (allow.go), some of them only for
//     argument values checked by conditional rules (clone, socket,
//     socketpair, personality; see rules.go).
//   - EPERM: the syscalls in deniedSyscalls (container escapes, kernel
//     attack surface, host-wide state) and the rejected argument values of
//     the conditional rules. EPERM says "you may not", which is the truth.
//   - ENOSYS: everything else, clone3 included.
//
// # Why the default is ENOSYS
//
// A syscall that is not listed is either one no job needs or one newer than
// this profile. glibc, Go and Rust treat ENOSYS from a new syscall as "old
// kernel" and fall back to an older one (clone3 to clone, faccessat2 to
// faccessat, statx to fstatat, close_range to a /proc/self/fd loop), and the
// fallback is filtered like any other call. EPERM instead makes them fail
// for good: Docker's EPERM default broke faccessat2 on glibc 2.33 this way.
//
// # Other ABIs
//
// Only the native ABI is listed (SCMP_ARCH_X86_64 on amd64). A call through
// the 32-bit x86 ABI (int 0x80, sysenter) or with the x32 bit set hits
// libseccomp's bad-architecture action, which runc leaves at its default:
// the calling thread is killed with SIGSYS. Nothing moat runs is a 32-bit
// binary, and the compat entry points are a frequent home of kernel bugs, so
// no 32-bit syscall is reachable at all.
package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Version names this profile. Change it with every change of the rules, so
// audit records name the exact profile a run had.
const Version = "moat-seccomp-1"

// Profile returns a new copy of the profile; callers may modify it.
func Profile() *specs.LinuxSeccomp {
	enosys := uint(unix.ENOSYS)

	syscalls := []specs.LinuxSyscall{
		{Names: slices.Clone(allowed), Action: specs.ActAllow},
		{Names: slices.Clone(deniedSyscalls), Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.EPERM)},
		// seccomp cannot read clone3's flags (they are in a struct in
		// memory), so clone3 could create namespaces unseen; ENOSYS makes
		// glibc fall back to clone, whose flags the rules below check.
		{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: errnoPtr(unix.ENOSYS)},
	}
	syscalls = append(syscalls, conditionalRules()...)

	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &enosys,
		Architectures:   architectures(),
		Syscalls:        syscalls,
	}
}

// SHA256 returns the hex sha256 of the canonical JSON of Profile():
// encoding/json's compact output, whose field order is the order of the
// runtime-spec struct fields.
func SHA256() string {
	data, err := json.Marshal(Profile())
	if err != nil {
		// Profile is plain data with no custom marshalers.
		panic("seccomp: encode profile: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// architectures lists the native ABI only; see the package comment for why
// the 32-bit ABIs stay out.
func architectures() []specs.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64}
	default:
		// No list: libseccomp filters the native ABI only.
		return nil
	}
}

func errnoPtr(errno unix.Errno) *uint {
	v := uint(errno)
	return &v
}
