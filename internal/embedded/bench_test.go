package embedded_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moatdev/moat/internal/bundle"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/manifest"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/runc"
	"github.com/moatdev/moat/internal/testutil"
	"github.com/moatdev/moat/internal/worker"
)

// trivialJob is a job that does nothing: its cost is moat's overhead.
var trivialJob = map[string]string{
	"moat.yaml": fmt.Sprintf(shManifest, "trivial", "30s"),
	"run.sh":    "#!/bin/sh\nexit 0\n",
}

// BenchmarkTrivialJobEndToEnd measures one whole run in embedded mode:
// bundle load and install, queue, network namespace and gateway listener,
// runc, usage read, cleanup, and the audited finish.
func BenchmarkTrivialJobEndToEnd(b *testing.B) {
	h := newHarness(b, nil)
	dir := h.bundle(trivialJob)
	ctx := context.Background()

	for b.Loop() {
		run, err := h.runner.Run(ctx, dir, "acme", "admin", io.Discard)
		if err != nil || run.Cause != worker.CauseSucceeded {
			b.Fatalf("run: cause %q, err %v", run.Cause, err)
		}
	}
}

// BenchmarkTrivialJobEndToEndRunsc is BenchmarkTrivialJobEndToEnd with the
// gVisor backend.
func BenchmarkTrivialJobEndToEndRunsc(b *testing.B) {
	h := newHarnessOn(b, "runsc", nil)
	dir := h.bundle(trivialJob)
	ctx := context.Background()

	for b.Loop() {
		run, err := h.runner.Run(ctx, dir, "acme", "admin", io.Discard)
		if err != nil || run.Cause != worker.CauseSucceeded {
			b.Fatalf("run: cause %q, err %v", run.Cause, err)
		}
	}
}

// BenchmarkRawRuncRun is the baseline: a plain 'runc run' of the same
// rootfs, spec and bundle, prepared once, with no moat around it.
func BenchmarkRawRuncRun(b *testing.B) {
	testutil.RequirePrivileged(b)
	binary := testutil.RuncPath(b)
	dir := b.TempDir()

	rt, err := runc.New(runc.Config{
		Binary:       binary,
		StateRoot:    filepath.Join(dir, "runc"),
		WorkDir:      filepath.Join(dir, "sandboxes"),
		CgroupParent: "moat-bench",
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}

	src := b.TempDir()
	writeFiles(b, src, trivialJob)
	bdl, err := bundle.Load(src, bundle.DefaultLimits(), manifest.DefaultMaximums())
	if err != nil {
		b.Fatal(err)
	}
	installed, err := bdl.Install(filepath.Join(dir, "bundles"))
	if err != nil {
		b.Fatal(err)
	}

	r := bdl.Manifest.Resources
	base, err := rt.PrepareBaseline(sandbox.Spec{
		ID:        ids.NewRun(),
		BundleDir: installed,
		Args:      []string{"/job/run.sh"},
		Env:       []string{"PATH=/usr/bin:/bin", "HOME=/tmp"},
		Limits:    sandbox.Limits{CPU: r.CPU, MemoryBytes: r.MemoryBytes, Pids: r.Pids, TmpBytes: r.TmpBytes},
		UID:       worker.JobUID,
		GID:       worker.JobGID,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := base.Remove(); err != nil {
			b.Errorf("remove baseline: %v", err)
		}
		// The cgroup parent is the benchmark's own; runc removes only the
		// run's leaf below it.
		parents, _ := filepath.Glob("/sys/fs/cgroup/*/moat-bench")
		for _, p := range parents {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				b.Errorf("remove cgroup parent %s: %v", p, err)
			}
		}
	})

	for b.Loop() {
		cmd := exec.Command(base.Binary, "--root", base.StateRoot, "run", "--bundle", base.BundleDir, base.ID)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, out)
		}
	}
}
