package runsc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
	"github.com/moatdev/moat/internal/sandbox/runc"
	"github.com/moatdev/moat/internal/sandbox/seccomp"
)

// sentryID is the host uid and gid of the sentry and its stub processes:
// runsc starts the sandbox as nobody in a user namespace that maps only
// that id. The job's uid exists only inside the sentry.
const sentryID = 65534

// seccompVariant names the gVisor adaptation of moat's seccomp profile.
const seccompVariant = "+runsc"

// Run runs one sandbox to completion; see sandbox.Runtime. Every trace of
// the run (runsc state, cgroups, run directory) is removed before it
// returns, on success and on every error path.
func (r *Runtime) Run(ctx context.Context, spec sandbox.Spec, stdout, stderr io.Writer) (res sandbox.Result, err error) {
	res = sandbox.Result{ExitCode: -1, RuntimeVersion: r.version}
	if ctx.Err() != nil {
		// Stopped before anything started: nothing to kill or clean up.
		res.KillCause = context.Cause(ctx)
		return res, nil
	}

	// Render validates the spec and creates the run directory, which is the
	// lock on the id: only after it succeeds are undo steps registered, so
	// a colliding Run never deletes another run's sandbox.
	prepared, err := runc.Render(r.cfg.WorkDir, r.cgroupPath(spec.ID), spec)
	if err != nil {
		return res, err
	}

	var undo ocirun.Undo
	defer func() {
		if cleanupErr := undo.Run(); cleanupErr != nil {
			r.log.Error("sandbox cleanup failed", "run", spec.ID, "err", cleanupErr)
			err = errors.Join(err, fmt.Errorf("clean up sandbox %q: %w", spec.ID, cleanupErr))
		}
	}()
	undo.Add("remove run directory", prepared.Remove)
	undo.Add("delete container", func() error { return r.deleteContainer(spec.ID) })
	undo.Add("remove cgroup", func() error { return r.removeCgroup(spec.ID) })

	if err := r.prepare(spec, prepared, &res); err != nil {
		return res, fmt.Errorf("sandbox %q: %w", spec.ID, err)
	}
	group, err := r.hierarchy.Group(r.cgroupPath(spec.ID))
	if err != nil {
		return res, err
	}

	files := newRunFiles(prepared.RunDir, prepared.BundleDir)
	start := time.Now()
	out, superviseErr := r.supervise(ctx, spec.ID, networkMode(spec), files, group, stdout, stderr)
	res.Wall = time.Since(start)
	res.ExitCode = out.exitCode
	res.KillCause = out.killCause

	// Read usage now: moat's leaf cgroup survives `runsc run` and exists
	// until the deferred undo steps remove it.
	stats, statsErr := group.Stats()
	res.Usage = sandbox.Usage(stats)
	superviseErr = errors.Join(superviseErr, statsErr)

	return res, errors.Join(superviseErr, r.diagnose(spec.ID, files, &res))
}

// prepare adapts the rendered spec to runsc, writes it, and creates the
// run's cgroup with its limits.
func (r *Runtime) prepare(spec sandbox.Spec, p *runc.Prepared, res *sandbox.Result) error {
	adaptSpec(p.Spec)

	if profile := p.Spec.Linux.Seccomp; profile != nil {
		sum, err := seccompSHA256(profile)
		if err != nil {
			return err
		}
		res.SeccompProfile = seccomp.Version + seccompVariant
		res.SeccompSHA256 = sum
	}

	hash, err := writeSpec(p.BundleDir, p.Spec)
	if err != nil {
		return err
	}
	res.SpecHash = hash
	res.UserNamespace = true
	res.HostUID, res.HostGID = sentryID, sentryID

	return r.mounts.createCgroup(r.cgroupPath(spec.ID), spec.Limits)
}

// networkMode selects runsc's network: "host" makes the sentry use the
// host kernel's network stack of the namespace at Spec.NetnsPath (which
// runsc joins), "none" gives it a new namespace and gVisor's own stack with
// only loopback.
func networkMode(spec sandbox.Spec) string {
	if spec.NetnsPath == "" {
		return "none"
	}
	return "host"
}

// diagnose turns a failure of runsc or a crash of gVisor into an error,
// unless moat killed the sandbox or the job's own OOM or pids exhaustion
// explains it. A fork bomb, for example, makes the sentry panic when the
// pids limit stops it from creating a stub process.
func (r *Runtime) diagnose(id string, f runFiles, res *sandbox.Result) error {
	if res.KillCause != nil {
		return nil
	}
	explained := res.Usage.OOMKills > 0 || res.Usage.PidsHits > 0

	if crash := panicText(f.panicLog); crash != "" {
		first, _, _ := strings.Cut(crash, "\n")
		r.log.Warn("gVisor crashed", "run", id, "exit_code", res.ExitCode, "oom_kills", res.Usage.OOMKills, "pids_hits", res.Usage.PidsHits, "panic", first)
		if !explained {
			return fmt.Errorf("sandbox %q: gVisor crashed: %s", id, first)
		}
		return nil
	}

	if msg := runscError(f.log); msg != "" && !explained {
		res.ExitCode = -1
		return fmt.Errorf("sandbox %q: runsc failed: %s", id, msg)
	}
	return nil
}
