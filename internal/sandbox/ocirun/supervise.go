package ocirun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/moatdev/moat/internal/cgroup"
)

// KillGrace bounds each step of the kill escalation: after the CLI's kill
// plus the cgroup kill, after a second cgroup kill, and after SIGKILL to
// the CLI.
const KillGrace = 5 * time.Second

// IOGrace bounds how long Run keeps copying output after the CLI exited; a
// process holding the pipes open cannot delay the result longer.
const IOGrace = 5 * time.Second

// Escalation is what a backend needs to stop one started `<cli> run`.
type Escalation struct {
	// Tool ("runc" or "runsc") and Unit ("container" or "sandbox") name
	// the CLI and what it runs in log messages.
	Tool string
	Unit string
	// RunID is the run's id.
	RunID string
	// Cmd is the started `<cli> run`.
	Cmd *exec.Cmd
	// Group is the run's cgroup.
	Group cgroup.Group
	// KillRun sends SIGKILL to the job through the CLI (`runc kill`,
	// `runsc kill --all`).
	KillRun func() error
	Log     *slog.Logger
}

// Wait waits for e.Cmd, which must be started. When ctx is done first, it
// kills the run and escalates until the CLI returns or every bounded step
// has failed. It returns ctx's cause when it killed the run, whether the CLI
// exited, and the result of Cmd.Wait.
func Wait(ctx context.Context, e Escalation) (killCause error, exited bool, waitErr error) {
	done := make(chan error, 1)
	go func() { done <- e.Cmd.Wait() }()

	select {
	case err := <-done:
		return nil, true, err
	case <-ctx.Done():
	}

	killCause = context.Cause(ctx)
	e.Log.Info("killing sandbox", "run", e.RunID, "cause", killCause)
	exited, waitErr = e.escalate(done)
	return killCause, exited, waitErr
}

// escalate kills the run through the CLI, then retries through the
// cgroup, then kills the CLI itself, waiting at most KillGrace after each
// step. It returns whether the CLI exited and the result of Cmd.Wait.
func (e Escalation) escalate(done <-chan error) (bool, error) {
	if err := e.KillRun(); err != nil {
		e.Log.Debug(e.Tool+" kill failed", "run", e.RunID, "err", err)
	}
	killGroup := func() {
		if err := e.Group.Kill(); err != nil {
			e.Log.Warn("kill sandbox cgroup failed", "run", e.RunID, "cgroup", e.Group.Path(), "err", err)
		}
	}
	killGroup()

	steps := []func(){
		killGroup,
		func() {
			e.Log.Warn(e.Tool+" did not exit after the "+e.Unit+" was killed; killing "+e.Tool, "run", e.RunID, "pid", e.Cmd.Process.Pid)
			_ = e.Cmd.Process.Kill()
		},
		func() {},
	}
	for _, next := range steps {
		select {
		case err := <-done:
			return true, err
		case <-time.After(KillGrace):
			next()
		}
	}
	return false, nil
}

// CheckWait returns waitErr wrapped unless it only reports a non-zero
// exit or output still being copied after IOGrace.
func CheckWait(tool string, waitErr error) error {
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return fmt.Errorf("wait for %s: %w", tool, waitErr)
	}
	return nil
}

// ExitCode maps a finished process to a shell-style exit code: 128+n when
// signal n ended it, -1 when state is nil.
func ExitCode(state *os.ProcessState) int {
	if state == nil {
		return -1
	}
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return state.ExitCode()
}
