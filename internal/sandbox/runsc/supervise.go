package runsc

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

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
	cmd.WaitDelay = ocirun.IOGrace
	// Own process group: a Ctrl-C on moat's terminal must not reach runsc,
	// which would forward it to the job; moat alone decides kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	if err := cmd.Start(); err != nil {
		return outcome{exitCode: -1}, fmt.Errorf("start runsc: %w", err)
	}

	killCause, exited, err := ocirun.Wait(ctx, ocirun.Escalation{
		Tool:  "runsc",
		Unit:  "sandbox",
		RunID: id,
		Cmd:   cmd,
		Group: group,
		// The job's processes are sentry tasks, not host processes: only
		// runsc can signal them. Killing the sentry process through the
		// cgroup ends them all at once as well.
		KillRun: func() error {
			_, err := r.runsc("kill", "--all", id, "KILL")
			return err
		},
		Log: r.log,
	})

	out := outcome{killCause: killCause}
	if !exited {
		out.exitCode = -1
		return out, fmt.Errorf("runsc run of %q did not exit after SIGKILL", id)
	}
	return finish(out, cmd, err)
}

// finish turns runsc's exit into an outcome. `runsc run` exits with the
// job's status, 128+n when signal n ended the job or the whole sandbox.
func finish(out outcome, cmd *exec.Cmd, waitErr error) (outcome, error) {
	out.exitCode = ocirun.ExitCode(cmd.ProcessState)
	return out, ocirun.CheckWait("runsc", waitErr)
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
