package selftest

import (
	"fmt"
	"io"
	"time"
)

// Result is the verdict on one attack.
type Result struct {
	Attack string
	Goal   string
	Pass   bool
	// Expected and Observed render the outcome in the same terms: cause,
	// RESULT values, audit events.
	Expected string
	Observed string
	// Failures lists every mismatch; empty when Pass.
	Failures []string
	// Details are the DETAIL lines the job printed.
	Details  []string
	RunID    string
	Duration time.Duration
	// RSSBeforeBytes is this process's resident set size before the run
	// and RSSPeakBytes its peak during the run, so a caller can see whether
	// moat itself grew with the job's behaviour. Both are 0 when /proc
	// cannot tell.
	RSSBeforeBytes int64
	RSSPeakBytes   int64
}

func (r Result) fail(failure string) Result {
	r.Pass = false
	r.Failures = append(r.Failures, failure)
	return r
}

// Report is the outcome of one run of the suite.
type Report struct {
	Runtime string
	Results []Result
}

// Failed returns the results that did not pass.
func (r Report) Failed() []Result {
	var failed []Result
	for _, res := range r.Results {
		if !res.Pass {
			failed = append(failed, res)
		}
	}
	return failed
}

// Result returns the result of the named attack.
func (r Report) Result(attack string) (Result, bool) {
	for _, res := range r.Results {
		if res.Attack == attack {
			return res, true
		}
	}
	return Result{}, false
}

// WriteLine writes one line for a result: PASS or FAIL with what was
// observed. A failure adds indented lines with the expectation, each
// mismatch and the job's DETAIL lines.
func (res Result) WriteLine(w io.Writer) {
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s  %-26s %5.1fs  %s\n", verdict, res.Attack, res.Duration.Seconds(), res.Observed)
	if res.Pass {
		return
	}
	fmt.Fprintf(w, "      expected: %s\n", res.Expected)
	for _, f := range res.Failures {
		fmt.Fprintf(w, "      - %s\n", f)
	}
	for _, d := range res.Details {
		fmt.Fprintf(w, "      detail: %s\n", d)
	}
}

// WriteSummary writes the runtime and the closing line, in the plain
// "N passed, N failed" form test runners recognise.
func (r Report) WriteSummary(w io.Writer) {
	failed := len(r.Failed())
	fmt.Fprintf(w, "runtime %s\nselftest: %d passed, %d failed\n", r.Runtime, len(r.Results)-failed, failed)
}
