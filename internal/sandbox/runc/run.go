package runc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
	"github.com/moatdev/moat/internal/sandbox/seccomp"
)

// Run runs one sandbox to completion; see sandbox.Runtime. Every trace of
// the run (container state, cgroups, run directory) is removed before it
// returns, on success and on every error path.
func (r *Runtime) Run(ctx context.Context, spec sandbox.Spec, stdout, stderr io.Writer) (res sandbox.Result, err error) {
	res = sandbox.Result{
		ExitCode:       -1,
		RuntimeVersion: r.version,
		SeccompProfile: seccomp.Version,
		SeccompSHA256:  seccomp.SHA256(),
	}
	if err := validateSpec(spec); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		// Stopped before anything started: nothing to kill or clean up.
		res.KillCause = context.Cause(ctx)
		return res, nil
	}

	var undo ocirun.Undo
	defer func() {
		if cleanupErr := undo.Run(); cleanupErr != nil {
			r.log.Error("sandbox cleanup failed", "run", spec.ID, "err", cleanupErr)
			err = errors.Join(err, fmt.Errorf("clean up sandbox %q: %w", spec.ID, cleanupErr))
		}
	}()

	d := r.runDirs(spec.ID)
	// The run directory is the lock on the id: creating it fails if it
	// exists, and only then are undo steps registered, so a colliding Run
	// never deletes another run's container, cgroup or files.
	if err := os.Mkdir(d.top, 0o700); err != nil {
		return res, fmt.Errorf("sandbox %q: create run directory: %w", spec.ID, err)
	}

	// The id slot is released last, once no process of the run is left.
	slot, err := r.userNamespaceSlot(spec)
	if err != nil {
		_ = os.Remove(d.top)
		return res, err
	}
	if slot != nil {
		undo.Add("release user namespace slot", slot.release)
	}
	undo.Add("remove run directory", func() error { return r.removeRunDir(spec.ID) })
	undo.Add("remove cgroup", func() error { return r.removeCgroup(spec.ID) })
	undo.Add("delete container", func() error { return r.deleteContainer(spec.ID) })

	res.SpecHash, err = r.prepare(spec, d, slot)
	if err != nil {
		return res, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	res.HostUID, res.HostGID = spec.UID, spec.GID
	if slot != nil {
		res.UserNamespace = true
		res.HostUID, res.HostGID = slot.hostBase+spec.UID, slot.hostBase+spec.GID
	}

	group, err := r.hierarchy.Group(r.cgroupPath(spec.ID))
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

// prepare builds the root of the run whose directory d.top exists, renders
// its runtime spec (with a user namespace on slot, if any) and writes it to
// the bundle. It returns the hex sha256 of config.json.
func (r *Runtime) prepare(spec sandbox.Spec, d runDirs, slot *idSlot) (string, error) {
	if err := os.Mkdir(d.bundle, 0o700); err != nil {
		return "", fmt.Errorf("create bundle directory: %w", err)
	}
	hostDirMounts, err := buildRootfs(d, spec)
	if err != nil {
		return "", err
	}

	rendered := renderSpec(spec, d, r.cgroupPath(spec.ID), hostDirMounts)
	if slot != nil {
		addUserNamespace(rendered, slot.hostBase)
	}
	return writeSpec(d.bundle, rendered)
}

// runDirs returns the paths of run id in Run's layout: its root is a tmpfs
// at RootfsDir/<id> that holds /etc and /job itself.
func (r *Runtime) runDirs(id string) runDirs {
	d := newRunDirs(r.cfg.WorkDir, id)
	d.rootfs = filepath.Join(r.cfg.RootfsDir, id)
	d.etc = ""
	d.copied = true
	return d
}

// userNamespaceSlot returns the id slot of a run that gets a user
// namespace, or nil when the backend has them off or the host does not
// support them now (a warning is logged: the job's uid is then a host uid).
func (r *Runtime) userNamespaceSlot(spec sandbox.Spec) (*idSlot, error) {
	if r.cfg.UserNamespace == UserNamespaceOff {
		return nil, nil
	}
	if !userNamespacesSupported(maxUserNamespacesPath) {
		r.log.Warn("user namespaces unavailable; running the sandbox without one", "run", spec.ID, "sysctl", maxUserNamespacesPath)
		return nil, nil
	}
	if spec.UID >= idsPerRun || spec.GID >= idsPerRun {
		return nil, fmt.Errorf("sandbox %q: uid %d gid %d: a user namespace maps ids below %d only; use a smaller uid and gid", spec.ID, spec.UID, spec.GID, idsPerRun)
	}

	slot, err := r.acquireIDSlot(spec.ID)
	if err != nil {
		return nil, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	return slot, nil
}
