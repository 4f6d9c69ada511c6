package worker

import (
	"errors"
	"fmt"
	"testing"

	"github.com/moatdev/moat/internal/sandbox"
)

func TestDecideCause(t *testing.T) {
	infra := errors.New("runc create: exec format error")
	policy := fmt.Errorf("%w: cpu mining pattern detected", ErrKilledByPolicy)
	other := errors.New("worker shutting down")
	byRunsCancel := fmt.Errorf("%w by 'moat runs cancel'", sandbox.ErrCancelled)

	cases := []struct {
		name       string
		res        sandbox.Result
		runErr     error
		wantCause  string
		wantReason string
	}{
		{
			name:       "cancelled",
			res:        sandbox.Result{ExitCode: 137, KillCause: sandbox.ErrCancelled},
			wantCause:  CauseCancelled,
			wantReason: "cancelled",
		},
		{
			name:       "cancelled names who cancelled",
			res:        sandbox.Result{ExitCode: 137, KillCause: byRunsCancel},
			wantCause:  CauseCancelled,
			wantReason: "cancelled by 'moat runs cancel'",
		},
		{
			name:       "timeout",
			res:        sandbox.Result{ExitCode: 137, KillCause: sandbox.ErrTimeout},
			wantCause:  CauseTimeout,
			wantReason: "the job ran past its wall-clock timeout and was killed",
		},
		{
			name:       "killed by policy bare",
			res:        sandbox.Result{ExitCode: 137, KillCause: ErrKilledByPolicy},
			wantCause:  CauseKilledByPolicy,
			wantReason: "killed by policy",
		},
		{
			name:       "killed by policy keeps its reason",
			res:        sandbox.Result{ExitCode: 137, KillCause: policy},
			wantCause:  CauseKilledByPolicy,
			wantReason: "killed by policy: cpu mining pattern detected",
		},
		{
			name:       "unknown kill cause is cancelled",
			res:        sandbox.Result{ExitCode: 137, KillCause: other},
			wantCause:  CauseCancelled,
			wantReason: "worker shutting down",
		},
		{
			name:       "kill cause beats exit 0",
			res:        sandbox.Result{ExitCode: 0, KillCause: sandbox.ErrTimeout},
			wantCause:  CauseTimeout,
			wantReason: "the job ran past its wall-clock timeout and was killed",
		},
		{
			name:       "timeout beats oom",
			res:        sandbox.Result{ExitCode: 137, KillCause: sandbox.ErrTimeout, Usage: sandbox.Usage{OOMKills: 2, PidsHits: 1}},
			wantCause:  CauseTimeout,
			wantReason: "the job ran past its wall-clock timeout and was killed",
		},
		{
			name:       "cancel beats infrastructure error",
			res:        sandbox.Result{ExitCode: -1, KillCause: byRunsCancel},
			runErr:     infra,
			wantCause:  CauseCancelled,
			wantReason: "cancelled by 'moat runs cancel'",
		},
		{
			name:       "timeout beats infrastructure error",
			res:        sandbox.Result{ExitCode: -1, KillCause: sandbox.ErrTimeout},
			runErr:     infra,
			wantCause:  CauseTimeout,
			wantReason: "the job ran past its wall-clock timeout and was killed",
		},
		{
			name:       "policy beats infrastructure error",
			res:        sandbox.Result{ExitCode: -1, KillCause: policy},
			runErr:     infra,
			wantCause:  CauseKilledByPolicy,
			wantReason: "killed by policy: cpu mining pattern detected",
		},
		{
			name:       "infrastructure error beats exit 0",
			res:        sandbox.Result{ExitCode: 0},
			runErr:     infra,
			wantCause:  CauseInfrastructure,
			wantReason: "runc create: exec format error",
		},
		{
			name:       "infrastructure error beats oom",
			res:        sandbox.Result{ExitCode: 137, Usage: sandbox.Usage{OOMKills: 1}},
			runErr:     infra,
			wantCause:  CauseInfrastructure,
			wantReason: "runc create: exec format error",
		},
		{
			name:       "infrastructure error before start",
			res:        sandbox.Result{ExitCode: -1},
			runErr:     infra,
			wantCause:  CauseInfrastructure,
			wantReason: "runc create: exec format error",
		},
		{
			name:       "exit 0",
			res:        sandbox.Result{ExitCode: 0},
			wantCause:  CauseSucceeded,
			wantReason: "",
		},
		{
			name:       "exit 0 with child oom and pids hits",
			res:        sandbox.Result{ExitCode: 0, Usage: sandbox.Usage{OOMKills: 3, PidsHits: 5}},
			wantCause:  CauseSucceeded,
			wantReason: "",
		},
		{
			name:       "exit 137 with oom",
			res:        sandbox.Result{ExitCode: 137, Usage: sandbox.Usage{OOMKills: 1}},
			wantCause:  CauseOOM,
			wantReason: "the job exceeded its memory limit (1 OOM kills)",
		},
		{
			name:       "exit 2 with pids hits",
			res:        sandbox.Result{ExitCode: 2, Usage: sandbox.Usage{PidsHits: 4}},
			wantCause:  CausePidsExhausted,
			wantReason: "the job exited with code 2 after reaching its pids limit (4 failed forks)",
		},
		{
			name:       "oom and pids hits is oom",
			res:        sandbox.Result{ExitCode: 1, Usage: sandbox.Usage{OOMKills: 2, PidsHits: 7}},
			wantCause:  CauseOOM,
			wantReason: "the job exceeded its memory limit (2 OOM kills)",
		},
		{
			name:       "exit 3",
			res:        sandbox.Result{ExitCode: 3},
			wantCause:  CauseFailed,
			wantReason: "the job exited with code 3",
		},
		{
			name:       "exit 137 without oom",
			res:        sandbox.Result{ExitCode: 137},
			wantCause:  CauseFailed,
			wantReason: "the job exited with code 137",
		},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cause, reason := DecideCause(c.res, c.runErr)
			if cause != c.wantCause {
				t.Errorf("cause = %q, want %q", cause, c.wantCause)
			}
			if reason != c.wantReason {
				t.Errorf("reason = %q, want %q", reason, c.wantReason)
			}
		})
	}
}

func TestExitCodeCauses(t *testing.T) {
	cases := []struct {
		cause string
		want  int
	}{
		{CauseSucceeded, 0},
		{CauseFailed, 1},
		{CauseRejected, 100},
		{CauseTimeout, 101},
		{CauseOOM, 102},
		{CausePidsExhausted, 103},
		{CauseCancelled, 104},
		{CauseKilledByPolicy, 105},
		{CauseWorkerLost, 106},
		{CauseInfrastructure, 110},
		{"", 110},
		{"no_such_cause", 110},
	}
	for _, c := range cases {
		if got := ExitCode(c.cause, nil); got != c.want {
			t.Errorf("ExitCode(%q, nil) = %d, want %d", c.cause, got, c.want)
		}
	}
}

func TestExitCodeIgnoresJobExitUnlessFailed(t *testing.T) {
	three := 3
	cases := map[string]int{
		CauseSucceeded: 0,
		CauseTimeout:   101,
		CauseOOM:       102,
		CauseCancelled: 104,
	}
	for cause, want := range cases {
		if got := ExitCode(cause, &three); got != want {
			t.Errorf("ExitCode(%q, 3) = %d, want %d", cause, got, want)
		}
	}
}

func TestExitCodeFailedPassesJobExit(t *testing.T) {
	cases := []struct {
		name    string
		jobExit *int
		want    int
	}{
		{"nil", nil, 1},
		{"0", intPtr(0), 1},
		{"1", intPtr(1), 1},
		{"3", intPtr(3), 3},
		{"99", intPtr(99), 99},
		{"100", intPtr(100), 1}, // would read as rejected
		{"137", intPtr(137), 1},
		{"-1", intPtr(-1), 1},
	}
	for _, c := range cases {
		if got := ExitCode(CauseFailed, c.jobExit); got != c.want {
			t.Errorf("ExitCode(failed, %s) = %d, want %d", c.name, got, c.want)
		}
	}
}

func intPtr(n int) *int { return &n }
