package runc

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
)

// startDetached prepares spec like Run does and starts it with `runc run
// -d`, then returns without cleaning up: what a crashed moat leaves behind.
func startDetached(t *testing.T, rt *Runtime, spec sandbox.Spec) {
	t.Helper()
	d := prepareBundle(t, rt, spec)
	t.Cleanup(func() { _ = rt.removeAll(spec.ID) })

	// The detached container inherits runc's stdio; with pipes there,
	// waiting for runc would wait for the container too.
	logFile := filepath.Join(d.top, "runc.log")
	cmd := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "--log", logFile, "run", "-d", "--bundle", d.bundle, spec.ID)
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(logFile)
		t.Fatalf("runc run -d: %v: %s", err, log)
	}
}

// prepareBundle writes the run directory and config.json of spec as Run
// does, user namespace included; the id slot is held until the test ends.
func prepareBundle(t testing.TB, rt *Runtime, spec sandbox.Spec) runDirs {
	t.Helper()
	d := rt.runDirs(spec.ID)
	if err := os.Mkdir(d.top, 0o700); err != nil {
		t.Fatal(err)
	}
	slot, err := rt.userNamespaceSlot(spec)
	if err != nil {
		t.Fatal(err)
	}
	if slot != nil {
		t.Cleanup(func() { _ = slot.release() })
	}
	if _, err := rt.prepare(spec, d, slot); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestReapRemovesLeftovers(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	crashed := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "while :; do sleep 1; done", marker)
	startDetached(t, rt, crashed)

	kept := ids.NewRun()
	foreign := "not-a-run"
	for _, name := range []string{kept, foreign} {
		if err := os.Mkdir(filepath.Join(rt.cfg.WorkDir, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// More than one process may carry the marker: sh forks before it
	// execs sleep.
	if n := waitForMarkers(t, marker, 1, 10*time.Second); n < 1 {
		t.Fatalf("detached container is not running (%d processes with the marker)", n)
	}

	// The crashed run's root tmpfs is still mounted; Reap must unmount it
	// before it removes the mount point.
	rootfs := filepath.Join(rt.cfg.RootfsDir, crashed.ID)
	if mounts, err := MountsBelow(rootfs); err != nil || !slices.Equal(mounts, []string{rootfs}) {
		t.Fatalf("mounts at the crashed run's rootfs: %q (%v), want its tmpfs", mounts, err)
	}

	removed, err := Reap(context.Background(), rt.cfg, func(id string) bool { return id == kept })

	if err != nil {
		t.Errorf("Reap: %v", err)
	}
	if !slices.Equal(removed, []string{crashed.ID}) {
		t.Errorf("Reap removed %q, want only %q", removed, crashed.ID)
	}
	assertNoTrace(t, rt, crashed.ID)
	if left := processesWithMarker(t, marker); len(left) > 0 {
		t.Errorf("processes of the reaped run survive: %q", left)
	}
	for _, name := range []string{kept, foreign} {
		if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, name)); err != nil {
			t.Errorf("Reap removed %q, which it must keep: %v", name, err)
		}
	}
}
