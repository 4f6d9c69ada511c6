package worker

import (
	"errors"
	"fmt"

	"github.com/moatdev/moat/internal/sandbox"
)

// Terminal causes. A run ends with exactly one.
const (
	CauseSucceeded      = "succeeded"
	CauseFailed         = "failed"
	CauseTimeout        = "timeout"
	CauseOOM            = "oom"
	CausePidsExhausted  = "pids_exhausted"
	CauseKilledByPolicy = "killed_by_policy"
	CauseCancelled      = "cancelled"
	CauseRejected       = "rejected"
	CauseWorkerLost     = "worker_lost"
	CauseInfrastructure = "infrastructure_error"
)

// ErrKilledByPolicy is the cancel cause an abuse check passes when it stops
// a run.
var ErrKilledByPolicy = errors.New("killed by policy")

// DecideCause applies the precedence rule to how a sandbox ended:
//
//  1. a kill moat itself decided (cancelled, killed_by_policy, timeout);
//     the context records only the first cause, so the first decision wins;
//  2. else an infrastructure error of the runtime;
//  3. else exit 0 is succeeded, even if a child was OOM-killed or hit the
//     pids limit (those stay counters in the usage);
//  4. else an OOM kill seen in the cgroup is oom;
//  5. else a pids-limit hit is pids_exhausted;
//  6. else failed with the exit code.
func DecideCause(res sandbox.Result, runErr error) (cause, reason string) {
	switch {
	case errors.Is(res.KillCause, sandbox.ErrCancelled):
		// The cause carries who cancelled: 'moat runs cancel' or a signal
		// to the moat process.
		return CauseCancelled, res.KillCause.Error()
	case errors.Is(res.KillCause, ErrKilledByPolicy):
		return CauseKilledByPolicy, res.KillCause.Error()
	case errors.Is(res.KillCause, sandbox.ErrTimeout):
		return CauseTimeout, "the job ran past its wall-clock timeout and was killed"
	case res.KillCause != nil:
		return CauseCancelled, res.KillCause.Error()
	}

	if runErr != nil {
		return CauseInfrastructure, runErr.Error()
	}

	switch {
	case res.ExitCode == 0:
		return CauseSucceeded, ""
	case res.Usage.OOMKills > 0:
		return CauseOOM, fmt.Sprintf("the job exceeded its memory limit (%d OOM kills)", res.Usage.OOMKills)
	case res.Usage.PidsHits > 0:
		return CausePidsExhausted, fmt.Sprintf("the job exited with code %d after reaching its pids limit (%d failed forks)", res.ExitCode, res.Usage.PidsHits)
	default:
		return CauseFailed, fmt.Sprintf("the job exited with code %d", res.ExitCode)
	}
}

// ExitCode maps a terminal cause to the exit status of 'moat run', so
// scripts can tell causes apart. A failed job passes its own exit code
// through when it is between 1 and 99.
func ExitCode(cause string, jobExit *int) int {
	switch cause {
	case CauseSucceeded:
		return 0
	case CauseFailed:
		if jobExit != nil && *jobExit > 0 && *jobExit < 100 {
			return *jobExit
		}
		return 1
	case CauseRejected:
		return 100
	case CauseTimeout:
		return 101
	case CauseOOM:
		return 102
	case CausePidsExhausted:
		return 103
	case CauseCancelled:
		return 104
	case CauseKilledByPolicy:
		return 105
	case CauseWorkerLost:
		return 106
	default:
		return 110
	}
}
