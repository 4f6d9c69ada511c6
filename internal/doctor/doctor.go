// Package doctor checks that a host can run moat's sandboxes safely and gives
// an operator the fix for what is missing. `moat doctor` prints its checks.
//
// Every check reads the host as it is at run time and leaves it unchanged.
// The writability checks create and remove one empty temporary file, and
// the namespace check starts /bin/true once in new namespaces.
package doctor

import (
	"context"
	"time"
)

// Check statuses.
const (
	StatusOK   = "ok"
	StatusWarn = "warn"
	StatusFail = "fail"
)

// commandTimeout bounds each external command a check runs (runc, python3).
const commandTimeout = 10 * time.Second

// Check is the result of one host check.
type Check struct {
	// Name is a short stable identifier such as "runc-version".
	Name string
	// Status is StatusOK, StatusWarn or StatusFail.
	Status string
	// Detail states what was found.
	Detail string
	// Fix is the command or step that resolves a warn or fail; empty for ok.
	Fix string
}

// Options are the paths of the binary and directory that moat uses.
type Options struct {
	// RuncPath is the runc binary; empty means "runc" on PATH.
	RuncPath string
	// DataDir is moat's data directory; it must be writable.
	DataDir string
}

// Run performs every check and returns them in a fixed order.
func Run(ctx context.Context, opts Options) []Check {
	checks := []Check{checkRoot()}
	checks = append(checks, checkRunc(ctx, opts.RuncPath)...)
	checks = append(checks,
		checkKernelSeccomp(),
		checkCgroups(),
		checkNamespaces(),
		checkRunsc(ctx, runscBinary),
		checkNetnsDir(),
		checkPython(ctx),
		checkDuckDB(ctx),
		checkDataDir(opts.DataDir),
	)
	return checks
}

func ok(name, detail string) Check {
	return Check{Name: name, Status: StatusOK, Detail: detail}
}

func warn(name, detail, fix string) Check {
	return Check{Name: name, Status: StatusWarn, Detail: detail, Fix: fix}
}

func fail(name, detail, fix string) Check {
	return Check{Name: name, Status: StatusFail, Detail: detail, Fix: fix}
}
