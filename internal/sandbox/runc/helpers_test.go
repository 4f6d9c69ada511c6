package runc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
	"github.com/moatdev/moat/internal/testutil"
)

const (
	testUID = sandboxtest.UID
	testGID = sandboxtest.GID
	python  = "/usr/bin/python3"
)

// Helpers shared with the runsc backend's tests.
var (
	newBundle           = sandboxtest.NewBundle
	newSpec             = sandboxtest.NewSpec
	processesWithMarker = sandboxtest.ProcessesWithMarker
)

// requireRunc skips the test unless it runs as root with runc installed
// (under MOAT_REQUIRE_PRIVILEGED=1 it fails instead).
func requireRunc(t testing.TB) {
	t.Helper()
	testutil.RequirePrivileged(t)
	testutil.RuncPath(t)
}

// newTestRuntime returns a runtime with its own state root, work dir and
// cgroup parent, so tests never touch a real moat's state or each other's.
func newTestRuntime(t testing.TB) *Runtime {
	t.Helper()
	requireRunc(t)

	base := t.TempDir()
	// runc creates the parent in every hierarchy and leaves it behind.
	parent := sandboxtest.TestCgroupParent(t, "moat-test-")
	rt, err := New(Config{
		StateRoot:    filepath.Join(base, "state"),
		WorkDir:      filepath.Join(base, "work"),
		CgroupParent: parent,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rt
}

type runOutput = sandboxtest.Output

// runSpec runs spec and checks that no trace of the run remains.
func runSpec(t testing.TB, ctx context.Context, rt *Runtime, spec sandbox.Spec) runOutput {
	t.Helper()
	return sandboxtest.Run(t, ctx, rt, spec, func(id string) { assertNoTrace(t, rt, id) })
}

// assertNoTrace checks that no container, cgroup, run directory or mount
// of run id remains.
func assertNoTrace(t testing.TB, rt *Runtime, id string) {
	t.Helper()

	out, err := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "list", "-q").CombinedOutput()
	if err != nil {
		t.Errorf("runc list: %v: %s", err, out)
	}
	if strings.Contains(string(out), id) {
		t.Errorf("runc list still shows container %q", id)
	}

	sandboxtest.AssertNoCgroup(t, rt.cfg.CgroupParent, id)

	if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, id)); !os.IsNotExist(err) {
		t.Errorf("run directory of %q remains (stat: %v)", id, err)
	}
	if _, err := os.Stat(filepath.Join(rt.cfg.RootfsDir, id)); !os.IsNotExist(err) {
		t.Errorf("rootfs mount point of %q remains (stat: %v)", id, err)
	}

	sandboxtest.AssertNoMount(t, id)
}
