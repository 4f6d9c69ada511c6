package doctor

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

const seccompActionsPath = "/proc/sys/kernel/seccomp/actions_avail"

// checkKernelSeccomp reports whether the kernel can apply the seccomp
// filters moat gives every sandbox: filter mode and the errno action.
func checkKernelSeccomp() Check {
	const name = "kernel-seccomp"

	status, err := os.ReadFile("/proc/self/status")
	if err != nil || !strings.Contains(string(status), "\nSeccomp:") {
		return fail(name, "the kernel reports no seccomp support in /proc/self/status",
			"use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER")
	}
	actions, err := os.ReadFile(seccompActionsPath)
	if err != nil {
		return fail(name, "cannot read "+seccompActionsPath+": "+err.Error(),
			"use a kernel built with CONFIG_SECCOMP_FILTER (Linux 4.14 or newer)")
	}
	if !strings.Contains(string(actions), "errno") {
		return fail(name, "the kernel's seccomp actions ("+strings.TrimSpace(string(actions))+") lack errno",
			"use a kernel whose seccomp supports the errno action")
	}
	return ok(name, "seccomp filters with actions: "+strings.TrimSpace(string(actions)))
}

// runscBinary is where Debian's runsc package installs gVisor.
const runscBinary = "/usr/bin/runsc"

// checkRunsc reports whether the gVisor backend (moat run --runtime runsc)
// can be used, looking for path first and then runsc on PATH. It is
// optional, so its absence is a warning.
func checkRunsc(ctx context.Context, path string) Check {
	const name = "runsc"

	if _, err := os.Stat(path); err != nil {
		found, err := exec.LookPath("runsc")
		if err != nil {
			return warn(name, "gVisor (runsc) is not installed, so --runtime runsc is unavailable",
				"apt-get install runsc (scripts/setup.sh installs it)")
		}
		path = found
	}

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return warn(name, path+" --version failed: "+err.Error(), "reinstall it with apt-get install --reinstall runsc")
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return ok(name, path+": "+first+" (platform ptrace; network via the run's own namespace)")
}
