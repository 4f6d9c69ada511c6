package runsc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// gvisorUnimplemented are syscalls runsc 0.0~20221219.0 does not implement:
// the sentry itself returns ENOSYS for them (TestSeccompUnderGVisor checks
// this for clone3).
var gvisorUnimplemented = []string{"clone3"}

// adaptSpec changes the spec the runc backend renders into one runsc
// accepts with the same contract where gVisor allows it:
//
//   - the pids limit is raised to minPids (gVisor's own threads and stub
//     processes count against it);
//   - the seccomp profile is adapted by adaptSeccomp.
//
// The network namespace entry stays as rendered: with --network=host runsc
// starts the sandbox inside the namespace at its path, and with
// --network=none (empty path) in a new one.
func adaptSpec(s *specs.Spec) {
	if r := s.Linux.Resources; r != nil && r.Pids != nil && r.Pids.Limit != nil {
		limit := pidsLimit(*r.Pids.Limit)
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	if s.Linux.Seccomp != nil {
		s.Linux.Seccomp = adaptSeccomp(s.Linux.Seccomp)
	}
}

// adaptSeccomp returns a copy of profile fit for runsc --oci-seccomp, which
// returns EPERM for every errno action whatever errno the profile names.
//
// An ENOSYS rule exists so that libc falls back to an older syscall
// (glibc's pthread_create tries clone3, then clone). EPERM makes that
// fallback fail, and no thread can start. For the syscalls gVisor does not
// implement, the sentry itself returns ENOSYS, so an errno rule for them is
// replaced by an explicit allow, which gets the same ENOSYS. Every other
// errno rule stays and returns EPERM.
func adaptSeccomp(profile *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	out := *profile
	out.Syscalls = nil

	var kept, removed []string
	for _, rule := range profile.Syscalls {
		if rule.Action == specs.ActErrno && !isEPERM(rule.ErrnoRet) {
			rule.Names = slices.DeleteFunc(slices.Clone(rule.Names), func(name string) bool {
				if slices.Contains(gvisorUnimplemented, name) {
					removed = append(removed, name)
					return true
				}
				return false
			})
			if len(rule.Names) == 0 {
				continue
			}
		}
		kept = append(kept, rule.Names...)
		out.Syscalls = append(out.Syscalls, rule)
	}

	// The default action reaches an unimplemented syscall that no rule
	// names; if it is a non-EPERM errno it needs the same replacement.
	defaultNotEPERM := profile.DefaultAction == specs.ActErrno && !isEPERM(profile.DefaultErrnoRet)
	var allow []string
	for _, name := range gvisorUnimplemented {
		if slices.Contains(kept, name) {
			continue
		}
		if slices.Contains(removed, name) || defaultNotEPERM {
			allow = append(allow, name)
		}
	}
	if len(allow) > 0 {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: allow, Action: specs.ActAllow})
	}
	return &out
}

// isEPERM reports whether an errno action with errnoRet returns EPERM; an
// unset errno means EPERM in runc and runsc.
func isEPERM(errnoRet *uint) bool {
	return errnoRet == nil || *errnoRet == uint(unix.EPERM)
}

// seccompSHA256 returns the hex sha256 of the profile's compact JSON.
func seccompSHA256(profile *specs.LinuxSeccomp) (string, error) {
	data, err := json.Marshal(profile)
	if err != nil {
		return "", fmt.Errorf("encode seccomp profile: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// writeSpec writes config.json into the bundle and returns the hex sha256
// of the exact bytes written.
func writeSpec(bundle string, spec *specs.Spec) (string, error) {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode runtime spec: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return "", fmt.Errorf("write runtime spec: %w", err)
	}

	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
