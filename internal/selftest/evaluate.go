package selftest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

func storeFilter(runID string) store.AuditFilter { return store.AuditFilter{RunID: runID} }

// evaluate compares an observed run with its expectation and returns one
// failure per mismatch.
func evaluate(want Expect, o Observation) []string {
	var failures []string
	failures = append(failures, checkCause(want.Cause, want.OrCauses, o)...)
	// A sandbox that never started proves nothing about the attack, and
	// its missing RESULT lines would only bury the cause.
	if o.Run.Cause == worker.CauseInfrastructure && want.Cause != worker.CauseInfrastructure {
		return failures
	}
	if want.Results != nil {
		failures = append(failures, checkResults(want.Results, o)...)
	}
	failures = append(failures, checkAudit(want.Audit, o.Events)...)
	if want.Check != nil {
		failures = append(failures, want.Check(o)...)
	}
	return failures
}

// checkCause asserts the terminal cause on the run record and on exactly
// one run.finished event.
func checkCause(want string, alternatives []string, o Observation) []string {
	var failures []string
	if o.Run.Cause != want && !slices.Contains(alternatives, o.Run.Cause) {
		failures = append(failures, fmt.Sprintf("cause = %q (reason %q), want %q", o.Run.Cause, o.Run.Reason, strings.Join(append([]string{want}, alternatives...), `" or "`)))
	}
	if slices.Contains(alternatives, o.Run.Cause) {
		want = o.Run.Cause
	}

	n := countEvents(o.Events, audit.RunFinished, "")
	if n != 1 {
		return append(failures, fmt.Sprintf("the audit log has %d run.finished events for the run, want 1", n))
	}
	finished, _ := finishedEvent(o.Events)
	if got := finished.Details["cause"]; got != want {
		failures = append(failures, fmt.Sprintf("run.finished records cause %v, want %q", got, want))
	}
	return failures
}

// checkResults asserts that the job printed exactly the expected RESULT
// lines, each once, with the expected values.
func checkResults(want map[string]string, o Observation) []string {
	var failures []string
	for _, name := range sortedKeys(want) {
		expected := want[name]
		if expected == runIDPlaceholder {
			expected = o.Run.ID
		}
		got, ok := o.Results[name]
		switch {
		case !ok:
			failures = append(failures, fmt.Sprintf("%s: no RESULT line, want %s", name, expected))
		case got != expected:
			failures = append(failures, fmt.Sprintf("%s = %s, want %s", name, got, expected))
		}
	}
	for _, name := range sortedKeys(o.Results) {
		if name == duplicateKey {
			failures = append(failures, fmt.Sprintf("RESULT printed more than once: %s", strings.TrimSpace(o.Results[name])))
			continue
		}
		if _, ok := want[name]; !ok {
			failures = append(failures, fmt.Sprintf("unexpected RESULT %s = %s", name, o.Results[name]))
		}
	}
	return failures
}

// checkAudit asserts the exact count of each expected event type and
// reason.
func checkAudit(want []AuditExpect, events []store.Event) []string {
	var failures []string
	for _, w := range want {
		if n := countEvents(events, w.Type, w.Reason); n != w.Count {
			failures = append(failures, fmt.Sprintf("audit has %d %s events with reason %q, want %d", n, w.Type, w.Reason, w.Count))
		}
	}
	return failures
}

// countEvents counts events of a type, and of a reason unless it is empty.
func countEvents(events []store.Event, eventType, reason string) int {
	n := 0
	for _, e := range events {
		if e.Type == eventType && (reason == "" || e.Reason == reason) {
			n++
		}
	}
	return n
}

func finishedEvent(events []store.Event) (store.Event, bool) {
	for _, e := range events {
		if e.Type == audit.RunFinished {
			return e, true
		}
	}
	return store.Event{}, false
}

// leftovers returns a failure for each resource of the run that survived
// it: its network namespace, a cgroup, a mount or a state directory.
func leftovers(stateDir, runID string) []string {
	var failures []string
	if _, err := os.Stat("/var/run/netns/moat-" + runID); !os.IsNotExist(err) {
		failures = append(failures, fmt.Sprintf("network namespace moat-%s still exists", runID))
	}

	cgroups, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "*", runID))
	unified, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", runID))
	for _, p := range append(cgroups, unified...) {
		failures = append(failures, fmt.Sprintf("cgroup %s still exists", p))
	}

	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(mounts), runID) {
		failures = append(failures, fmt.Sprintf("a mount of run %s remains", runID))
	}

	states, _ := filepath.Glob(filepath.Join(stateDir, "*", runID))
	for _, p := range states {
		failures = append(failures, fmt.Sprintf("state directory %s still exists", p))
	}
	return failures
}

// describeExpected renders an expectation on one line.
func describeExpected(e Expect) string {
	parts := []string{"cause=" + e.Cause}
	for _, name := range sortedKeys(e.Results) {
		parts = append(parts, name+"="+e.Results[name])
	}
	for _, a := range e.Audit {
		parts = append(parts, fmt.Sprintf("audit:%s/%s×%d", a.Type, a.Reason, a.Count))
	}
	return strings.Join(parts, " ")
}

// describeObserved renders what a run did on one line, in the same terms.
func describeObserved(o Observation) string {
	parts := []string{"cause=" + o.Run.Cause}
	for _, name := range sortedKeys(o.Results) {
		if name != duplicateKey {
			parts = append(parts, name+"="+o.Results[name])
		}
	}

	if o.Run.OOMKills > 0 {
		parts = append(parts, fmt.Sprintf("oom_kills=%d", o.Run.OOMKills))
	}
	if o.Run.PidsHits > 0 {
		parts = append(parts, fmt.Sprintf("pids_hits=%d", o.Run.PidsHits))
	}
	if o.Run.LogTruncated {
		parts = append(parts, fmt.Sprintf("log_truncated_at=%d", o.Run.LogBytes))
	}

	var denials []string
	for _, e := range o.Events {
		if e.Decision == audit.Deny {
			denials = append(denials, e.Type+"/"+e.Reason)
		}
	}
	if len(denials) > 0 {
		parts = append(parts, "audit:"+strings.Join(denials, ","))
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
