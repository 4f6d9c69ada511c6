package selftest

import (
	"slices"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/manifest"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

func TestSuiteBundlesAreValid(t *testing.T) {
	for _, runtime := range []string{"runc", "runsc"} {
		seen := map[string]bool{}
		for _, a := range Suite(runtime) {
			if seen[a.Name] {
				t.Errorf("%s: attack name %q used twice", runtime, a.Name)
			}
			seen[a.Name] = true

			if _, err := manifest.Parse([]byte(a.Files["moat.yaml"]), manifest.DefaultMaximums()); err != nil {
				t.Errorf("%s: %s: manifest invalid: %v", runtime, a.Name, err)
			}
			for _, name := range []string{"main.py", "attack.py"} {
				if a.Files[name] == "" {
					t.Errorf("%s: %s: bundle lacks %s", runtime, a.Name, name)
				}
			}
			if a.Expect.Cause == "" {
				t.Errorf("%s: %s: no expected cause", runtime, a.Name)
			}
		}
	}
}

func TestRunscDifferencesApplied(t *testing.T) {
	runc := Suite("runc")
	runsc := Suite("runsc")

	bomb := findAttack(runsc, "fork_bomb")
	if bomb.Expect.Cause != worker.CauseOOM || bomb.Expect.Results != nil {
		t.Errorf("runsc fork_bomb expects cause %q and results %v, want oom and no results", bomb.Expect.Cause, bomb.Expect.Results)
	}
	if !slices.Equal(bomb.Expect.OrCauses, []string{worker.CausePidsExhausted}) {
		t.Errorf("runsc fork_bomb also accepts %v, want exactly pids_exhausted", bomb.Expect.OrCauses)
	}
	if runcBomb := findAttack(runc, "fork_bomb"); len(runcBomb.Expect.OrCauses) != 0 {
		t.Errorf("runc fork_bomb accepts other causes %v, want none", runcBomb.Expect.OrCauses)
	}
	if got := findAttack(runsc, "user_namespace").Expect.Results["clone3_newuser"]; got != "ENOSYS" {
		t.Errorf("runsc clone3_newuser = %s, want ENOSYS as on runc", got)
	}
	if got := findAttack(runsc, "write_root").Expect.Results["write_root"]; got != "EACCES" {
		t.Errorf("runsc write_root = %s, want EACCES", got)
	}
	if got := findAttack(runsc, "user_namespace").Expect.Results["unshare_user"]; got != "EPERM" {
		t.Errorf("runsc unshare_user = %s, want the runc value EPERM kept", got)
	}
	if got := findAttack(runc, "user_namespace").Expect.Results["clone3_newuser"]; got != "ENOSYS" {
		t.Errorf("runc clone3_newuser = %s, want ENOSYS", got)
	}
	if len(runc) != len(runsc) {
		t.Errorf("runc has %d attacks, runsc %d: a difference must not drop an attack", len(runc), len(runsc))
	}
}

func TestParseOutputResultsAndDetails(t *testing.T) {
	out := "noise\nRESULT a EPERM\nDETAIL why a\nRESULT b 401:unauthenticated\nRESULT a OK\nRESULT path /usr/bin:/bin\n"

	results, details := parseOutput(out)

	if results["a"] != "EPERM" {
		t.Errorf("a = %q, want the first value EPERM", results["a"])
	}
	if results["b"] != "401:unauthenticated" {
		t.Errorf("b = %q, want 401:unauthenticated", results["b"])
	}
	if results["path"] != "/usr/bin:/bin" {
		t.Errorf("path = %q, want /usr/bin:/bin", results["path"])
	}
	if strings.TrimSpace(results[duplicateKey]) != "a" {
		t.Errorf("duplicates = %q, want a", results[duplicateKey])
	}
	if !slices.Equal(details, []string{"why a"}) {
		t.Errorf("details = %q, want [why a]", details)
	}
}

func TestCheckResultsReportsEveryMismatch(t *testing.T) {
	want := map[string]string{"missing": "EPERM", "wrong": "EPERM", "right": "EROFS", "id": runIDPlaceholder}
	o := Observation{
		Run:     store.Run{ID: "r-0123456789abcdef"},
		Results: map[string]string{"wrong": "OK", "right": "EROFS", "extra": "OK", "id": "r-0123456789abcdef", duplicateKey: "right "},
	}

	failures := checkResults(want, o)

	for _, text := range []string{"missing: no RESULT line", "wrong = OK, want EPERM", "unexpected RESULT extra = OK", "more than once: right"} {
		if !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, text) }) {
			t.Errorf("failures %q lack %q", failures, text)
		}
	}
	if len(failures) != 4 {
		t.Errorf("got %d failures %q, want 4", len(failures), failures)
	}
}

func TestCheckCauseNeedsOneFinishedEvent(t *testing.T) {
	finished := store.Event{Type: audit.RunFinished, Details: map[string]any{"cause": "oom"}}
	cases := []struct {
		name   string
		run    string
		events []store.Event
		want   int
	}{
		{name: "match", run: "oom", events: []store.Event{finished}, want: 0},
		{name: "run record differs", run: "failed", events: []store.Event{finished}, want: 1},
		{name: "event missing", run: "oom", events: nil, want: 1},
		{name: "event twice", run: "oom", events: []store.Event{finished, finished}, want: 1},
		{name: "event cause differs", run: "oom", events: []store.Event{{Type: audit.RunFinished, Details: map[string]any{"cause": "failed"}}}, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			failures := checkCause("oom", nil, Observation{Run: store.Run{Cause: tc.run}, Events: tc.events})
			if len(failures) != tc.want {
				t.Errorf("failures = %q, want %d", failures, tc.want)
			}
		})
	}
}

func TestCheckAuditCountsExactly(t *testing.T) {
	events := []store.Event{
		{Type: audit.GatewayAuthFail, Reason: "unauthenticated"},
		{Type: audit.GatewayAuthFail, Reason: "unauthenticated"},
		{Type: audit.QueryRejected, Reason: "access_denied"},
	}

	if f := checkAudit([]AuditExpect{{Type: audit.GatewayAuthFail, Reason: "unauthenticated", Count: 2}}, events); len(f) != 0 {
		t.Errorf("two auth failures expected and present: %q", f)
	}
	if f := checkAudit([]AuditExpect{{Type: audit.GatewayAuthFail, Reason: "unauthenticated", Count: 1}}, events); len(f) != 1 {
		t.Errorf("one auth failure expected, two present: failures %q, want 1", f)
	}
	if f := checkAudit([]AuditExpect{{Type: audit.QueryRejected, Reason: "invalid_sql", Count: 1}}, events); len(f) != 1 {
		t.Errorf("wrong reason must not count: failures %q, want 1", f)
	}
}

func TestCheckCPUQuotaBounds(t *testing.T) {
	check := checkCPUQuota(0.5)
	cases := []struct {
		name string
		cpu  float64
		want int
	}{
		{name: "within quota", cpu: 1.6, want: 0},
		{name: "spinners did not run", cpu: 0.3, want: 1},
		{name: "quota ignored", cpu: 3.1, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// 3.2 s of wall time allows 0.5 * 3.2 * 1.3 + 0.2 = 2.28 s.
			failures := check(Observation{Run: store.Run{CPUSeconds: tc.cpu, WallMillis: 3200}})
			if len(failures) != tc.want {
				t.Errorf("failures = %q, want %d", failures, tc.want)
			}
		})
	}
}

func TestCheckCauseAcceptsListedAlternatives(t *testing.T) {
	finished := func(cause string) []store.Event {
		return []store.Event{{Type: "run.finished", Details: map[string]any{"cause": cause}}}
	}
	cases := []struct {
		run  string
		fail bool
	}{
		{"oom", false},
		{"pids_exhausted", false},
		{"succeeded", true},
		{"failed", true},
	}
	for _, tc := range cases {
		failures := checkCause("oom", []string{"pids_exhausted"}, Observation{Run: store.Run{Cause: tc.run}, Events: finished(tc.run)})
		if (len(failures) > 0) != tc.fail {
			t.Errorf("cause %s: failures %q, want failure=%v", tc.run, failures, tc.fail)
		}
	}
}
