package runc

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

// killGrace bounds each step of the kill escalation: after `runc kill` plus
// the cgroup kill, after a second cgroup kill, and after SIGKILL to runc.
const killGrace = 5 * time.Second

// ioGrace bounds how long Run keeps copying output after runc exited; a
// process holding the pipes open cannot delay the result longer.
const ioGrace = 5 * time.Second

// outcome is the end state of one `runc run` as supervise observed it.
type outcome struct {
	exitCode  int
	killCause error
	started   bool
}

// supervise starts `runc run --keep` and waits for it. When ctx is done it
// kills the container and escalates until runc returns or every bounded
// step has failed.
func (r *Runtime) supervise(ctx context.Context, id string, d runDirs, group cgroup.Group, stdout, stderr io.Writer) (outcome, error) {
	pidFile := filepath.Join(d.top, "container.pid")
	cmd := exec.Command(r.cfg.Binary,
		"--root", r.cfg.StateRoot,
		"--log", filepath.Join(d.top, "runc.log"), "--log-format", "json",
		"run", "--keep", "--bundle", d.bundle, "--pid-file", pidFile, id)
	// Stdin stays nil, so runc and the job read /dev/null.
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = ioGrace
	// Own process group: a Ctrl-C on moat's terminal must not reach runc,
	// which would forward it to the job; moat alone decides kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	if err := cmd.Start(); err != nil {
		return outcome{exitCode: -1}, fmt.Errorf("start runc: %w", err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var out outcome
	select {
	case err := <-done:
		return r.finish(out, cmd, err, pidFile)
	case <-ctx.Done():
	}

	out.killCause = context.Cause(ctx)
	r.log.Info("killing sandbox", "run", id, "cause", out.killCause)
	exited, err := r.escalateKill(id, group, cmd, done)
	if !exited {
		out.exitCode = -1
		out.started = fileExists(pidFile)
		return out, fmt.Errorf("runc run of %q did not exit after SIGKILL", id)
	}
	return r.finish(out, cmd, err, pidFile)
}

// escalateKill kills the container, then retries through the cgroup, then
// kills runc itself, waiting at most killGrace after each step. It returns
// whether runc exited and the result of cmd.Wait.
func (r *Runtime) escalateKill(id string, group cgroup.Group, cmd *exec.Cmd, done <-chan error) (bool, error) {
	// PID 1 dying in its pid namespace takes every process of the
	// namespace with it.
	if _, err := r.runc("kill", id, "KILL"); err != nil {
		r.log.Debug("runc kill failed", "run", id, "err", err)
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
			r.log.Warn("runc did not exit after the container was killed; killing runc", "run", id, "pid", cmd.Process.Pid)
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

// finish turns runc's exit into an outcome. runc exits with the container's
// status (128+n when signal n ended PID 1). If the container never started
// (no pid file), a runc failure is an infrastructure error, unless moat
// killed it first.
func (r *Runtime) finish(out outcome, cmd *exec.Cmd, waitErr error, pidFile string) (outcome, error) {
	out.started = fileExists(pidFile)
	out.exitCode = exitCode(cmd.ProcessState)

	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return out, fmt.Errorf("wait for runc: %w", waitErr)
	}

	if !out.started {
		out.exitCode = -1
		if out.killCause == nil {
			return out, fmt.Errorf("runc failed to start the container (exit status %d): %s", exitCode(cmd.ProcessState), r.logTail(filepath.Dir(pidFile)))
		}
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

// logTail returns the last part of runc's log for error messages.
func (r *Runtime) logTail(dir string) string {
	const max = 2048
	b, err := os.ReadFile(filepath.Join(dir, "runc.log"))
	if err != nil {
		return "no runc log"
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
