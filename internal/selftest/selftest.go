// Package selftest is the attack suite every sandbox backend must pass.
//
// Each Attack is a hostile job bundle run through the whole embedded stack
// (bundle install, worker, network namespace, gateway, sandbox, audit) on a
// fresh temporary data directory. Its Expect states the exact outcome: the
// terminal cause, the value of every RESULT line the job prints, the audit
// events the run must leave, and checks on the run record (CPU used, log
// truncation, surviving processes).
//
// Jobs follow one convention: each attempt prints
//
//	RESULT <name> <value>
//
// where value is OK when the attempt succeeded, the errno name (EPERM,
// ENOSPC, ...) when it failed, or a token the job's source documents.
// DETAIL lines explain a value. A job exits 0 unless its attack is about the
// terminal cause (fork bombs, memory bombs, timeouts).
//
// 'moat selftest' and the package's Go test both run Suite through Run.
package selftest

import (
	"github.com/moatdev/moat/internal/store"
)

// Attack is one hostile job and the outcome the sandbox must produce.
type Attack struct {
	// Name identifies the attack in reports: lower case with underscores.
	Name string
	// Goal describes what the job tries and what must stop it.
	Goal string
	// Files is the job bundle: moat.yaml and the job's sources. Run adds
	// target.json with the facts of the suite's environment.
	Files  map[string]string
	Expect Expect
}

// Expect is the exact outcome of an attack.
type Expect struct {
	// Cause is the run's terminal cause, checked on the run record and on
	// its run.finished audit event.
	Cause string
	// OrCauses are other causes accepted in place of Cause, for runtimes
	// where two limits race by design (see runsc.go). Empty for runc.
	OrCauses []string
	// Results maps every RESULT name the job must print to its exact
	// value. A RESULT line with another name is a failure too. Nil skips
	// the RESULT check, for jobs that are killed before they can print.
	Results map[string]string
	// Audit lists the events the run must have recorded besides
	// run.queued, run.started and run.finished, each with an exact count.
	Audit []AuditExpect
	// Check adds assertions on the observed run; each returned string is
	// one failure.
	Check func(Observation) []string
}

// AuditExpect is an audit event of the run: its type, its reason code and
// how many times it must appear.
type AuditExpect struct {
	Type   string
	Reason string
	Count  int
}

// Observation is the record of one attack's run: the run, its output and
// its audit events.
type Observation struct {
	Run store.Run
	// Output is the run's log file as the worker wrote it: stdout and
	// stderr, capped at the worker's log limit.
	Output string
	// Results are the RESULT lines by name; Details the DETAIL lines.
	Results map[string]string
	Details []string
	// Events are the run's audit events in order.
	Events []store.Event

	env *environment
}
