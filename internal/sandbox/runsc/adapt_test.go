package runsc

import (
	"slices"
	"testing"

	"github.com/moatdev/moat/internal/sandbox/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestPidsLimitFloor(t *testing.T) {
	for requested, want := range map[int64]int64{1: 512, 64: 512, 512: 512, 4096: 4096} {
		if got := pidsLimit(requested); got != want {
			t.Errorf("pidsLimit(%d) = %d, want %d", requested, got, want)
		}
	}
}

// ruleFor returns the action and errno of the first rule naming syscall.
func ruleFor(p *specs.LinuxSeccomp, syscall string) (specs.LinuxSeccompAction, *uint, bool) {
	for _, r := range p.Syscalls {
		if slices.Contains(r.Names, syscall) && len(r.Args) == 0 {
			return r.Action, r.ErrnoRet, true
		}
	}
	return "", nil, false
}

func TestAdaptSeccompMoatProfile(t *testing.T) {
	original := seccomp.Profile()
	adapted := adaptSeccomp(original)

	action, _, ok := ruleFor(adapted, "clone3")
	if !ok || action != specs.ActAllow {
		t.Errorf("clone3 rule = %q (found %v), want an allow rule: the sentry returns ENOSYS itself", action, ok)
	}
	action, errno, ok := ruleFor(adapted, "keyctl")
	if !ok || action != specs.ActErrno || !isEPERM(errno) {
		t.Errorf("keyctl rule = %q, want the EPERM rule kept", action)
	}
	if adapted.DefaultAction != original.DefaultAction || *adapted.DefaultErrnoRet != *original.DefaultErrnoRet {
		t.Errorf("default action changed to %q", adapted.DefaultAction)
	}
	if _, _, ok := ruleFor(original, "clone3"); !ok {
		t.Fatal("the original profile has no clone3 rule")
	}
	if action, _, _ := ruleFor(original, "clone3"); action != specs.ActErrno {
		t.Errorf("adaptSeccomp modified its input: clone3 rule is %q", action)
	}
}

// A profile that denies clone3 with EPERM on purpose keeps that rule and
// gets no allow rule.
func TestAdaptSeccompKeepsEPERMRule(t *testing.T) {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	profile := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &enosys,
		Syscalls:        []specs.LinuxSyscall{{Names: []string{"clone3", "bpf"}, Action: specs.ActErrno, ErrnoRet: &eperm}},
	}

	adapted := adaptSeccomp(profile)

	if len(adapted.Syscalls) != 1 || !slices.Equal(adapted.Syscalls[0].Names, []string{"clone3", "bpf"}) {
		t.Errorf("rules = %+v, want the EPERM rule unchanged and nothing added", adapted.Syscalls)
	}
}

// A default action of ENOSYS reaches clone3 when no rule names it; the
// adaptation adds the allow rule.
func TestAdaptSeccompDefaultENOSYS(t *testing.T) {
	enosys := uint(unix.ENOSYS)
	profile := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &enosys,
		Syscalls:        []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}},
	}

	adapted := adaptSeccomp(profile)

	if action, _, ok := ruleFor(adapted, "clone3"); !ok || action != specs.ActAllow {
		t.Errorf("clone3 rule = %q (found %v), want allow", action, ok)
	}
}

func TestHasRootAndID(t *testing.T) {
	const root, id = "/run/moat/runsc", "r-0123456789abcdef"
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"runsc", "--root", root, "run", "--bundle", "/b", id}, true},
		{[]string{"runsc", "--root=" + root, "kill", id}, true},
		{[]string{"runsc", "--root", "/other", "run", id}, false},
		{[]string{"runsc", "--root", root, "run", "r-ffffffffffffffff"}, false},
		{[]string{"runsc", "--root"}, false},
		{[]string{"sleep", id}, false},
	}
	for _, tc := range cases {
		if got := hasRootAndID(tc.args, root, id); got != tc.want {
			t.Errorf("hasRootAndID(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
