package runsc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moatdev/moat/internal/cgroup"
)

// killGrace bounds each step of the kill escalation: after `runsc kill`
// plus the cgroup kill, after a second cgroup kill, and after SIGKILL to
// runsc.
const killGrace = 5 * time.Second

// ioGrace bounds how long Run keeps copying output after runsc exited.
const ioGrace = 5 * time.Second

// runFiles are the per-run files runsc writes, all in the run directory.
type runFiles struct {
	bundle string
	// log receives runsc's own messages as JSON lines. An error-level line
	// there marks a failure of runsc rather than of the job.
	log string
	// panicLog receives the Go runtime output of a crashing sentry or gofer.
	panicLog string
}

func newRunFiles(runDir, bundle string) runFiles {
	return runFiles{
		bundle:   bundle,
		log:      filepath.Join(runDir, "runsc.log"),
		panicLog: filepath.Join(runDir, "panic.log"),
	}
}

// outcome is the end state of one `runsc run` as supervise observed it.
type outcome struct {
	exitCode  int
	killCause error
}

// supervise starts `runsc run` and waits for it. When ctx is done it kills
// the sandbox and escalates until runsc returns or every bounded step has
// failed.
func (r *Runtime) supervise(ctx context.Context, id, network string, f runFiles, group cgroup.Group, stdout, stderr io.Writer) (outcome, error) {
	cmd := exec.Command(r.cfg.Binary,
		"--root", r.cfg.StateRoot,
		"--log", f.log, "--log-format", "json",
		"--panic-log", f.panicLog,
		"--platform", "ptrace",
		"--network", network,
		// Apply the spec's seccomp profile to the job inside the sentry;
		// runsc ignores it without this flag.
		"--oci-seccomp",
		// No writable overlay on top of the read-only root and mounts:
		// writes outside /tmp and /dev/shm fail as they do under runc.
		"--overlay2", "none",
		"run", "--bundle", f.bundle, id)
	// Stdin stays nil, so runsc and the job read /dev/null. The writers are
	// wrapped so exec always copies through pipes: given a regular file
	// directly, writes of the sandbox ignore the file's shared offset and
	// overwrite each other.
	cmd.Stdout = writerOnly{stdout}
	cmd.Stderr = writerOnly{stderr}
	cmd.WaitDelay = ioGrace
	// Own process group: a Ctrl-C on moat's terminal must not reach runsc,
	// which would forward it to the job; moat alone decides kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	if err := cmd.Start(); err != nil {
		return outcome{exitCode: -1}, fmt.Errorf("start runsc: %w", err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var out outcome
	select {
	case err := <-done:
		return finish(out, cmd, err)
	case <-ctx.Done():
	}

	out.killCause = context.Cause(ctx)
	r.log.Info("killing sandbox", "run", id, "cause", out.killCause)
	exited, err := r.escalateKill(id, group, cmd, done)
	if !exited {
		out.exitCode = -1
		return out, fmt.Errorf("runsc run of %q did not exit after SIGKILL", id)
	}
	return finish(out, cmd, err)
}

// escalateKill kills every process of the sandbox, then retries through
// the cgroup, then kills runsc itself, waiting at most killGrace after each
// step. It returns whether runsc exited and the result of cmd.Wait.
func (r *Runtime) escalateKill(id string, group cgroup.Group, cmd *exec.Cmd, done <-chan error) (bool, error) {
	// The job's processes are sentry tasks, not host processes: only runsc
	// can signal them. Killing the sentry process through the cgroup ends
	// them all at once as well.
	if _, err := r.runsc("kill", "--all", id, "KILL"); err != nil {
		r.log.Debug("runsc kill failed", "run", id, "err", err)
	}
	killGroup := func() {
		if err := group.Kill(); err != nil {
			r.log.Warn("kill sandbox cgroup failed", "run", id, "cgroup", group.Path(), "err", err)
		}
	}
	killGroup()

	steps := []func(){
		killGroup,
		func() {
			r.log.Warn("runsc did not exit after the sandbox was killed; killing runsc", "run", id, "pid", cmd.Process.Pid)
			_ = cmd.Process.Kill()
		},
		func() {},
	}
	for _, next := range steps {
		select {
		case err := <-done:
			return true, err
		case <-time.After(killGrace):
			next()
		}
	}
	return false, nil
}

// finish turns runsc's exit into an outcome. `runsc run` exits with the
// job's status, 128+n when signal n ended the job or the whole sandbox.
func finish(out outcome, cmd *exec.Cmd, waitErr error) (outcome, error) {
	out.exitCode = exitCode(cmd.ProcessState)

	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return out, fmt.Errorf("wait for runsc: %w", waitErr)
	}
	return out, nil
}

// exitCode maps a finished process to a shell-style exit code.
func exitCode(state *os.ProcessState) int {
	if state == nil {
		return -1
	}
	if status, ok := state.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return state.ExitCode()
}

// writerOnly hides every method but Write, so exec.Cmd never hands the
// underlying file to the child.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) {
	if w.w == nil {
		return len(p), nil
	}
	return w.w.Write(p)
}
