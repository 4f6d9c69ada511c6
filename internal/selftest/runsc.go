package selftest

import (
	"fmt"

	"github.com/moatdev/moat/internal/worker"
)

// difference is an outcome where a runtime differs from runc by design.
// Every entry carries its reason, and nothing else may differ.
type difference struct {
	attack string
	// cause, when set, replaces the expected terminal cause.
	cause string
	// orCauses are other causes accepted in its place.
	orCauses []string
	// dropResults stops checking RESULT lines, for jobs the runtime kills
	// before they can print.
	dropResults bool
	// results replace the expected values of single RESULT lines.
	results map[string]string
	// check, when set, replaces the attack's extra assertions.
	check  func(Observation) []string
	reason string
}

// runscDifferences lists where gVisor (runsc) differs from runc by design.
//
// Measured with Debian's runsc (release 2022-12-19) on the ptrace platform.
var runscDifferences = []difference{
	{
		attack: "fork_bomb", cause: worker.CauseOOM, orCauses: []string{worker.CausePidsExhausted},
		dropResults: true, check: checkLimitKilled,
		reason: "job processes are gVisor tasks, each with a host stub process, and gVisor's own memory counts " +
			"against the sandbox: the memory limit or the pids floor of 512 ends the whole sandbox, whichever comes first",
	},
	{
		attack: "fork_bomb_userns", cause: worker.CauseOOM, orCauses: []string{worker.CausePidsExhausted},
		dropResults: true, check: checkLimitKilled,
		reason: "as fork_bomb; the unshare attempt is covered by user_namespace",
	},
	{
		attack:  "write_root",
		results: map[string]string{"write_root": "EACCES", "write_usr": "EACCES", "write_etc": "EACCES", "write_job": "EACCES"},
		reason:  "gVisor checks file permissions before the read-only mount, so a write to a root-owned read-only path fails with EACCES, not EROFS",
	},
	{
		attack:  "sys_cgroup_write",
		results: map[string]string{"sys_cgroup_procs": "EACCES", "sys_mkdir": "EEXIST"},
		reason:  "gVisor mounts its own synthetic, read-only-for-the-job /sys; the host's cgroup files are not in it",
	},
	{
		attack:  "proc_kcore",
		results: map[string]string{"kcore": "ENOENT"},
		reason:  "gVisor's /proc has no kcore file to mask",
	},
}

// applyDifferences rewrites the expectations of attacks in place.
func applyDifferences(attacks []Attack, diffs []difference) {
	for _, d := range diffs {
		a := findAttack(attacks, d.attack)
		if d.cause != "" {
			a.Expect.Cause = d.cause
			a.Expect.OrCauses = d.orCauses
		}
		if d.dropResults {
			a.Expect.Results = nil
		}
		if d.check != nil {
			a.Expect.Check = d.check
		}
		if len(d.results) > 0 {
			// Copy before writing: the runc map may be shared.
			results := make(map[string]string, len(a.Expect.Results))
			for k, v := range a.Expect.Results {
				results[k] = v
			}
			for k, v := range d.results {
				results[k] = v
			}
			a.Expect.Results = results
		}
	}
}

// findAttack returns the named attack. A difference that names no attack
// is a defect of this file.
func findAttack(attacks []Attack, name string) *Attack {
	for i := range attacks {
		if attacks[i].Name == name {
			return &attacks[i]
		}
	}
	panic(fmt.Sprintf("selftest difference names unknown attack %q", name))
}

// Differences returns, for each attack whose expectation on runtime
// differs from runc's, one line with the attack's name and the reason.
func Differences(runtime string) []string {
	if runtime != "runsc" {
		return nil
	}
	lines := make([]string, len(runscDifferences))
	for i, d := range runscDifferences {
		lines[i] = d.attack + ": " + d.reason
	}
	return lines
}
