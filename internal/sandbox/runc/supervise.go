package runc

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

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
	cmd.WaitDelay = ocirun.IOGrace
	// Own process group: a Ctrl-C on moat's terminal must not reach runc,
	// which would forward it to the job; moat alone decides kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	if err := cmd.Start(); err != nil {
		return outcome{exitCode: -1}, fmt.Errorf("start runc: %w", err)
	}

	killCause, exited, err := ocirun.Wait(ctx, ocirun.Escalation{
		Tool:  "runc",
		Unit:  "container",
		RunID: id,
		Cmd:   cmd,
		Group: group,
		// PID 1 dying in its pid namespace takes every process of the
		// namespace with it.
		KillRun: func() error {
			_, err := r.runc("kill", id, "KILL")
			return err
		},
		Log: r.log,
	})

	out := outcome{killCause: killCause}
	if !exited {
		out.exitCode = -1
		out.started = fileExists(pidFile)
		return out, fmt.Errorf("runc run of %q did not exit after SIGKILL", id)
	}
	return r.finish(out, cmd, err, pidFile)
}

// finish turns runc's exit into an outcome. runc exits with the container's
// status (128+n when signal n ended PID 1). If the container never started
// (no pid file), a runc failure is an infrastructure error, unless moat
// killed it first.
func (r *Runtime) finish(out outcome, cmd *exec.Cmd, waitErr error, pidFile string) (outcome, error) {
	out.started = fileExists(pidFile)
	out.exitCode = ocirun.ExitCode(cmd.ProcessState)
	if err := ocirun.CheckWait("runc", waitErr); err != nil {
		return out, err
	}

	if !out.started {
		out.exitCode = -1
		if out.killCause == nil {
			return out, fmt.Errorf("runc failed to start the container (exit status %d): %s", ocirun.ExitCode(cmd.ProcessState), r.logTail(filepath.Dir(pidFile)))
		}
	}
	return out, nil
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
