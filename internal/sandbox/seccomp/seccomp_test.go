package seccomp

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// verdict is the outcome of one syscall under the profile: "allow",
// "EPERM", "ENOSYS" or "conflict" when rules with different actions match.
type verdict string

// evaluate applies the profile to a call the way the generated filter does
// for rules that never conflict: the action of the matching rules, or the
// default action when none matches.
func evaluate(p *specs.LinuxSeccomp, name string, args ...uint64) verdict {
	var found []verdict
	for _, rule := range p.Syscalls {
		if slices.Contains(rule.Names, name) && matches(rule.Args, args) {
			found = append(found, ruleVerdict(rule.Action, rule.ErrnoRet))
		}
	}

	if len(found) == 0 {
		return ruleVerdict(p.DefaultAction, p.DefaultErrnoRet)
	}
	for _, v := range found[1:] {
		if v != found[0] {
			return "conflict"
		}
	}
	return found[0]
}

func ruleVerdict(action specs.LinuxSeccompAction, errno *uint) verdict {
	if action == specs.ActAllow {
		return "allow"
	}
	if action == specs.ActErrno && errno != nil {
		return verdict(unix.ErrnoName(unix.Errno(*errno)))
	}
	return verdict(fmt.Sprintf("%s/%v", action, errno))
}

// matches reports whether every condition holds (libseccomp ANDs the
// conditions of one rule).
func matches(conds []specs.LinuxSeccompArg, args []uint64) bool {
	for _, c := range conds {
		var a uint64
		if int(c.Index) < len(args) {
			a = args[c.Index]
		}
		ok := false
		switch c.Op {
		case specs.OpEqualTo:
			ok = a == c.Value
		case specs.OpNotEqual:
			ok = a != c.Value
		case specs.OpGreaterEqual:
			ok = a >= c.Value
		case specs.OpGreaterThan:
			ok = a > c.Value
		case specs.OpLessThan:
			ok = a < c.Value
		case specs.OpLessEqual:
			ok = a <= c.Value
		case specs.OpMaskedEqual:
			ok = a&c.Value == c.ValueTwo
		default:
			panic("unknown operator " + string(c.Op))
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestProfileDefaultIsENOSYS(t *testing.T) {
	p := Profile()

	if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != uint(unix.ENOSYS) {
		t.Errorf("default action %q errno %v, want SCMP_ACT_ERRNO with ENOSYS (38)", p.DefaultAction, p.DefaultErrnoRet)
	}
	for _, name := range []string{"clone3", "sync", "vmsplice", "shmget", "io_setup", "landlock_create_ruleset", "no_such_syscall"} {
		if got := evaluate(p, name); got != "ENOSYS" {
			t.Errorf("%s: %s, want ENOSYS", name, got)
		}
	}
}

func TestProfileNativeArchitectureOnly(t *testing.T) {
	want := map[string][]specs.Arch{"amd64": {specs.ArchX86_64}, "arm64": {specs.ArchAARCH64}}[runtime.GOARCH]

	if got := Profile().Architectures; !slices.Equal(got, want) {
		t.Errorf("architectures = %q, want %q: 32-bit ABIs must hit the bad-architecture action", got, want)
	}
}

func TestProfileDeniesWithEPERM(t *testing.T) {
	p := Profile()
	mustDeny := []string{
		"unshare", "setns", "mount", "umount2", "pivot_root", "move_mount", "open_tree",
		"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "ptrace",
		"process_vm_readv", "process_vm_writev", "keyctl", "add_key", "request_key",
		"bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
		"io_uring_register", "init_module", "finit_module", "delete_module",
		"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
		"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
		"open_by_handle_at", "name_to_handle_at",
	}
	for _, name := range mustDeny {
		if got := evaluate(p, name, 0, 0, 0); got != "EPERM" {
			t.Errorf("%s: %s, want EPERM", name, got)
		}
	}
}

func TestProfileAllowsWhatJobsNeed(t *testing.T) {
	p := Profile()
	needed := []string{
		"read", "write", "openat", "close", "mmap", "mprotect", "futex", "execve",
		"vfork", "wait4", "pipe2", "epoll_pwait", "getrandom", "rseq", "set_robust_list",
		"connect", "sendto", "recvfrom", "clock_nanosleep", "statx", "newfstatat",
		"getdents64", "unlinkat", "ftruncate", "setsid", "kill", "prlimit64",
	}
	for _, name := range needed {
		if got := evaluate(p, name); got != "allow" {
			t.Errorf("%s: %s, want allow", name, got)
		}
	}
}

func TestProfileNamesAreDisjoint(t *testing.T) {
	seen := map[string]string{}
	for _, group := range []struct {
		name  string
		names []string
	}{{"allowed", allowed}, {"denied", deniedSyscalls}, {"clone3", []string{"clone3"}}} {
		for _, n := range group.names {
			if prev, ok := seen[n]; ok {
				t.Errorf("syscall %q is listed in %s and %s", n, prev, group.name)
			}
			seen[n] = group.name
		}
	}
	for _, rule := range conditionalRules() {
		for _, n := range rule.Names {
			if prev, ok := seen[n]; ok {
				t.Errorf("conditional syscall %q is also listed unconditionally in %s", n, prev)
			}
		}
	}
}

func TestCloneNamespaceFlags(t *testing.T) {
	p := Profile()
	const threadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	cases := []struct {
		name  string
		flags uint64
		want  verdict
	}{
		{"thread", threadFlags, "allow"},
		{"fork", unix.CLONE_CHILD_SETTID | unix.CLONE_CHILD_CLEARTID | uint64(unix.SIGCHLD), "allow"},
		{"vfork", unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD), "allow"},
		{"exit signal 128", 0x80, "allow"},
		{"newuser", unix.CLONE_NEWUSER | uint64(unix.SIGCHLD), "EPERM"},
		{"newns", unix.CLONE_NEWNS, "EPERM"},
		{"newnet", unix.CLONE_NEWNET, "EPERM"},
		{"newpid", unix.CLONE_NEWPID, "EPERM"},
		{"newipc", unix.CLONE_NEWIPC, "EPERM"},
		{"newuts", unix.CLONE_NEWUTS, "EPERM"},
		{"newcgroup", unix.CLONE_NEWCGROUP, "EPERM"},
		{"thread plus newuser", threadFlags | unix.CLONE_NEWUSER, "EPERM"},
		{"every namespace", unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWPID, "EPERM"},
		{"newuser with high bits", 1<<40 | unix.CLONE_NEWUSER, "EPERM"},
	}
	for _, c := range cases {
		if got := evaluate(p, "clone", c.flags); got != c.want {
			t.Errorf("clone(%s, %#x): %s, want %s", c.name, c.flags, got, c.want)
		}
	}
}

func TestSocketFamiliesAndTypes(t *testing.T) {
	p := Profile()
	cases := []struct {
		name        string
		family, typ uint64
		want        verdict
	}{
		{"tcp4", unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_CLOEXEC, "allow"},
		{"udp4", unix.AF_INET, unix.SOCK_DGRAM | unix.SOCK_NONBLOCK, "allow"},
		{"tcp6", unix.AF_INET6, unix.SOCK_STREAM, "allow"},
		{"udp6", unix.AF_INET6, unix.SOCK_DGRAM, "allow"},
		{"unix stream", unix.AF_UNIX, unix.SOCK_STREAM | unix.SOCK_CLOEXEC, "allow"},
		{"unix dgram", unix.AF_UNIX, unix.SOCK_DGRAM, "allow"},
		{"unix seqpacket", unix.AF_UNIX, unix.SOCK_SEQPACKET, "allow"},
		{"raw ipv4", unix.AF_INET, unix.SOCK_RAW, "EPERM"},
		{"raw ipv6 with flags", unix.AF_INET6, unix.SOCK_RAW | unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK, "EPERM"},
		{"sctp", unix.AF_INET, unix.SOCK_SEQPACKET, "EPERM"},
		{"packet", unix.AF_PACKET, unix.SOCK_DGRAM, "EPERM"},
		{"packet raw", unix.AF_PACKET, unix.SOCK_RAW, "EPERM"},
		{"netlink", unix.AF_NETLINK, unix.SOCK_RAW, "EPERM"},
		{"netlink dgram", unix.AF_NETLINK, unix.SOCK_DGRAM, "EPERM"},
		{"vsock", unix.AF_VSOCK, unix.SOCK_STREAM, "EPERM"},
		{"alg", unix.AF_ALG, unix.SOCK_SEQPACKET, "EPERM"},
		{"unspec", unix.AF_UNSPEC, unix.SOCK_STREAM, "EPERM"},
		{"inet with high bits", 1<<32 | unix.AF_INET, unix.SOCK_STREAM, "EPERM"},
		{"sock_packet type", unix.AF_INET, unix.SOCK_PACKET, "EPERM"},
		{"rdm", unix.AF_UNIX, unix.SOCK_RDM, "EPERM"},
	}
	for _, c := range cases {
		if got := evaluate(p, "socket", c.family, c.typ, 0); got != c.want {
			t.Errorf("socket(%s: %d, %#x): %s, want %s", c.name, c.family, c.typ, got, c.want)
		}
	}
}

// The filter's result must not depend on how libseccomp orders rules, so
// no call may match rules with different actions, and every call of a
// conditional syscall must match some rule (none falls through to ENOSYS).
func TestConditionalRulesNeverConflict(t *testing.T) {
	p := Profile()
	flagBits := []uint64{0, unix.SOCK_CLOEXEC, unix.SOCK_NONBLOCK, 1 << 40}

	for family := uint64(0); family <= 64; family++ {
		for typ := uint64(0); typ <= 15; typ++ {
			for _, bits := range flagBits {
				got := evaluate(p, "socket", family, typ|bits, 0)
				if got != "allow" && got != "EPERM" {
					t.Fatalf("socket(%d, %#x): %s, want allow or EPERM", family, typ|bits, got)
				}
			}
		}
	}

	for bit := range 64 {
		for _, base := range []uint64{0, uint64(unix.SIGCHLD), unix.CLONE_VM | unix.CLONE_THREAD} {
			flags := base | 1<<bit
			if got := evaluate(p, "clone", flags); got != "allow" && got != "EPERM" {
				t.Fatalf("clone(%#x): %s, want allow or EPERM", flags, got)
			}
		}
	}

	for _, v := range []uint64{0, 1, unix.AF_UNIX, unix.AF_INET, 0xffffffff, 1 << 63} {
		for _, name := range []string{"socketpair", "personality"} {
			if got := evaluate(p, name, v); got != "allow" && got != "EPERM" {
				t.Fatalf("%s(%#x): %s, want allow or EPERM", name, v, got)
			}
		}
	}
}

func TestPersonalityOnlyDefault(t *testing.T) {
	p := Profile()
	cases := []struct {
		name  string
		value uint64
		want  verdict
	}{
		{"PER_LINUX", 0, "allow"},
		{"ADDR_NO_RANDOMIZE", 0x0040000, "EPERM"},
		{"READ_IMPLIES_EXEC", 0x0400000, "EPERM"},
		{"MMAP_PAGE_ZERO", 0x0100000, "EPERM"},
		{"PER_LINUX32", 0x0008, "EPERM"},
		{"query", 0xffffffff, "EPERM"},
	}
	for _, c := range cases {
		if got := evaluate(p, "personality", c.value); got != c.want {
			t.Errorf("personality(%s): %s, want %s", c.name, got, c.want)
		}
	}
}

func TestSocketpairOnlyUnix(t *testing.T) {
	p := Profile()

	if got := evaluate(p, "socketpair", unix.AF_UNIX, unix.SOCK_STREAM); got != "allow" {
		t.Errorf("socketpair(AF_UNIX): %s, want allow", got)
	}
	if got := evaluate(p, "socketpair", unix.AF_INET, unix.SOCK_STREAM); got != "EPERM" {
		t.Errorf("socketpair(AF_INET): %s, want EPERM", got)
	}
}

func TestSHA256IsStableAndMatchesJSON(t *testing.T) {
	data, err := json.Marshal(Profile())
	if err != nil {
		t.Fatal(err)
	}

	first := SHA256()
	if len(first) != 64 {
		t.Fatalf("SHA256() = %q, want 64 hex digits", first)
	}
	if _, err := hex.DecodeString(first); err != nil {
		t.Fatalf("SHA256() = %q: %v", first, err)
	}
	if again := SHA256(); again != first {
		t.Errorf("SHA256() changed between calls: %q then %q", first, again)
	}
	if len(data) < 1000 {
		t.Errorf("canonical JSON is %d bytes, want the full profile", len(data))
	}
}

func TestProfileReturnsCopies(t *testing.T) {
	before := SHA256()

	p := Profile()
	p.Syscalls[0].Names[0] = "changed"
	p.DefaultAction = specs.ActAllow

	if after := SHA256(); after != before {
		t.Errorf("changing a returned profile changed later ones: hash %q became %q", before, after)
	}
	if Version != "moat-seccomp-1" {
		t.Errorf("Version = %q", Version)
	}
}
