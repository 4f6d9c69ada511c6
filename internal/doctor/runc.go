package doctor

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// runcFix installs a current runc with seccomp support.
const runcFix = "apt-get install libseccomp-dev && go install -tags seccomp github.com/opencontainers/runc@v1.5.3, " +
	"then set runc: in <data-dir>/config.yaml to the installed binary (~/go/bin/runc) or copy it to /usr/local/sbin/runc; make setup does this for you"

// RuncInfo is the version information that `runc --version` prints.
type RuncInfo struct {
	// Version is the text after "runc version", such as "1.1.5+ds1".
	Version string
	// Libseccomp is the libseccomp version runc was built with; empty when
	// runc was built without seccomp support.
	Libseccomp string
}

// ParseRuncVersion reads the output of `runc --version`:
//
//	runc version 1.5.3
//	spec: 1.3.0
//	go: go1.26.8
//	libseccomp: 2.5.4
func ParseRuncVersion(output string) (RuncInfo, error) {
	var info RuncInfo
	for _, line := range strings.Split(output, "\n") {
		line = strings.TrimSpace(line)
		if v, found := strings.CutPrefix(line, "runc version "); found {
			info.Version = strings.TrimSpace(v)
		}
		if v, found := strings.CutPrefix(line, "libseccomp:"); found {
			info.Libseccomp = strings.TrimSpace(v)
		}
	}

	if info.Version == "" {
		return info, fmt.Errorf("no \"runc version\" line in the output %q", output)
	}
	return info, nil
}

func checkRunc(ctx context.Context, path string) []Check {
	if path == "" {
		path = "runc"
	}

	resolved, err := exec.LookPath(path)
	if err != nil {
		return []Check{
			fail("runc-version", fmt.Sprintf("runc %q not found: %v", path, err), runcFix),
			fail("runc-seccomp", "runc not found", runcFix),
		}
	}

	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, resolved, "--version").CombinedOutput()
	if err != nil {
		return []Check{
			fail("runc-version", fmt.Sprintf("%s --version failed: %v", resolved, err), runcFix),
			fail("runc-seccomp", "runc --version failed", runcFix),
		}
	}

	info, err := ParseRuncVersion(string(out))
	if err != nil {
		return []Check{
			fail("runc-version", fmt.Sprintf("%s: %v", resolved, err), runcFix),
			fail("runc-seccomp", "the runc version output could not be read", runcFix),
		}
	}

	return []Check{versionCheck(resolved, info.Version), seccompCheck(resolved, info.Libseccomp)}
}

func versionCheck(path, version string) Check {
	status, detail := ClassifyRuncVersion(version)
	detail = fmt.Sprintf("%s is runc %s: %s", path, version, detail)
	if status == StatusOK {
		return ok("runc-version", detail)
	}
	return Check{Name: "runc-version", Status: status, Detail: detail, Fix: runcFix}
}

func seccompCheck(path, libseccomp string) Check {
	if libseccomp == "" {
		return fail("runc-seccomp",
			path+" was built without libseccomp, so it cannot apply the sandbox's seccomp profile",
			runcFix)
	}
	return ok("runc-seccomp", "built with libseccomp "+libseccomp)
}
