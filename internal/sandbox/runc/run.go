package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/moatdev/moat/internal/sandbox"
)

// Run runs one sandbox to completion; see sandbox.Runtime. Every trace of
// the run (container state, cgroups, run directory) is removed before it
// returns, on success and on every error path.
func (r *Runtime) Run(ctx context.Context, spec sandbox.Spec, stdout, stderr io.Writer) (res sandbox.Result, err error) {
	res = sandbox.Result{ExitCode: -1, RuntimeVersion: r.version}
	if err := validateSpec(spec); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		// Stopped before anything started: nothing to kill or clean up.
		res.KillCause = context.Cause(ctx)
		return res, nil
	}

	var undo undoStack
	defer func() {
		if cleanupErr := undo.run(); cleanupErr != nil {
			r.log.Error("sandbox cleanup failed", "run", spec.ID, "err", cleanupErr)
			err = errors.Join(err, fmt.Errorf("clean up sandbox %q: %w", spec.ID, cleanupErr))
		}
	}()

	d := newRunDirs(r.cfg.WorkDir, spec.ID)
	// The run directory is the lock on the id: creating it fails if it
	// exists, and only then are undo steps registered, so a colliding Run
	// never deletes another run's container, cgroup or files.
	if err := os.Mkdir(d.top, 0o700); err != nil {
		return res, fmt.Errorf("sandbox %q: create run directory: %w", spec.ID, err)
	}
	undo.add("remove run directory", func() error { return r.removeRunDir(spec.ID) })
	undo.add("remove cgroup", func() error { return r.removeCgroup(spec.ID) })
	undo.add("delete container", func() error { return r.deleteContainer(spec.ID) })

	hostDirMounts, err := prepareRootfs(d, spec.UID, spec.GID)
	if err != nil {
		return res, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}

	cgroupPath := r.cgroupPath(spec.ID)
	res.SpecHash, err = writeSpec(d.bundle, renderSpec(spec, d, cgroupPath, hostDirMounts))
	if err != nil {
		return res, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}

	group, err := r.hierarchy.Group(cgroupPath)
	if err != nil {
		return res, err
	}

	start := time.Now()
	out, superviseErr := r.supervise(ctx, spec.ID, d, group, stdout, stderr)
	res.Wall = time.Since(start)
	res.ExitCode = out.exitCode
	res.KillCause = out.killCause

	// Read usage now: the cgroup exists until the deferred undo steps run
	// `runc delete`.
	if group.Exists() {
		stats, statsErr := group.Stats()
		res.Usage = sandbox.Usage(stats)
		superviseErr = errors.Join(superviseErr, statsErr)
	}
	return res, superviseErr
}
