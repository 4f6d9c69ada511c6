package runsc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/runc"
)

// startDetached prepares spec like Run does and starts it with `runsc run
// --detach`, then returns without cleaning up: what a crashed moat leaves
// behind.
func startDetached(t *testing.T, rt *Runtime, spec sandbox.Spec) {
	t.Helper()
	p, err := runc.Render(rt.cfg.WorkDir, rt.cgroupPath(spec.ID), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.removeAll(spec.ID) })
	adaptSpec(p.Spec)
	if _, err := writeSpec(p.BundleDir, p.Spec); err != nil {
		t.Fatal(err)
	}
	if err := rt.mounts.createCgroup(rt.cgroupPath(spec.ID), spec.Limits); err != nil {
		t.Fatal(err)
	}

	// Without a terminal the detached sandbox keeps runsc's stdio; files
	// keep cmd.Run from waiting for it.
	logFile := filepath.Join(p.RunDir, "runsc.log")
	cmd := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "--log", logFile, "--network", "none",
		"run", "--detach", "--bundle", p.BundleDir, spec.ID)
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("runsc run --detach: %v: %s", err, log)
	}
}

func TestReapRemovesLeftovers(t *testing.T) {
	rt := newTestRuntime(t)
	crashed := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "while :; do sleep 1; done")
	startDetached(t, rt, crashed)

	kept := ids.NewRun()
	foreign := "not-a-run"
	for _, name := range []string{kept, foreign} {
		if err := os.Mkdir(filepath.Join(rt.cfg.WorkDir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if procs := waitForProcesses(t, rt.cfg.StateRoot, 2, 10*time.Second); len(procs) < 2 {
		t.Fatalf("detached sandbox is not running (host processes %q)", procs)
	}

	removed, err := rt.Reap(context.Background(), func(id string) bool { return id == kept })

	if err != nil {
		t.Errorf("Reap: %v", err)
	}
	if !slices.Equal(removed, []string{crashed.ID}) {
		t.Errorf("Reap removed %q, want only %q", removed, crashed.ID)
	}
	assertNoTrace(t, rt, crashed.ID)
	for _, name := range []string{kept, foreign} {
		if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, name)); err != nil {
			t.Errorf("Reap touched %q: %v", name, err)
		}
	}
}
