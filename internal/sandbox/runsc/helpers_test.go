package runsc

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

// Helpers shared with the runc backend's tests. newSpec's pids limit of 64
// is below minPids on purpose: every test runs with the raised limit.
var (
	newBundle           = sandboxtest.NewBundle
	newSpec             = sandboxtest.NewSpec
	processesWithMarker = sandboxtest.ProcessesWithMarker
	waitForProcesses    = sandboxtest.WaitForProcesses
	listenGreeting      = sandboxtest.ListenGreeting
)

// requireRunsc skips the test unless it runs as root with runsc installed.
// Under MOAT_REQUIRE_PRIVILEGED=1 a missing runsc fails the test instead.
func requireRunsc(t testing.TB) {
	t.Helper()
	testutil.RequirePrivileged(t)
	if _, err := os.Stat(DefaultBinary); err == nil {
		return
	}
	if _, err := exec.LookPath("runsc"); err == nil {
		return
	}
	if os.Getenv("MOAT_REQUIRE_PRIVILEGED") == "1" {
		t.Fatalf("runsc not found at %q or on PATH: run 'make setup' (scripts/setup.sh) to install Debian's runsc", DefaultBinary)
	}
	t.Skipf("runsc not installed at %q or on PATH; install it with 'apt-get install runsc'", DefaultBinary)
}

// newTestRuntime returns a runtime with its own state root, work dir and
// cgroup parent, so tests never touch a real moat's state or each other's.
func newTestRuntime(t testing.TB) *Runtime {
	t.Helper()
	requireRunsc(t)

	base := t.TempDir()
	// moat and runsc create the parent in every hierarchy and leave it.
	parent := sandboxtest.TestCgroupParent(t, "moat-runsc-test-")
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

// runSpec runs spec, fails on an error and checks that no trace of the run
// remains.
func runSpec(t testing.TB, ctx context.Context, rt *Runtime, spec sandbox.Spec) runOutput {
	t.Helper()
	return sandboxtest.Run(t, ctx, rt, spec, func(id string) { assertNoTrace(t, rt, id) })
}

// assertNoTrace checks that no container, runsc state file, cgroup, run
// directory, mount or gVisor process of run id remains.
func assertNoTrace(t testing.TB, rt *Runtime, id string) {
	t.Helper()

	out, err := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "list", "-quiet").CombinedOutput()
	if err != nil {
		t.Errorf("runsc list: %v: %s", err, out)
	}
	if strings.Contains(string(out), id) {
		t.Errorf("runsc list still shows container %q", id)
	}
	if files := rt.stateFiles(id); len(files) > 0 {
		t.Errorf("runsc state files remain: %q", files)
	}

	sandboxtest.AssertNoCgroup(t, rt.cfg.CgroupParent, id)

	if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, id)); !os.IsNotExist(err) {
		t.Errorf("run directory of %q remains (stat: %v)", id, err)
	}

	sandboxtest.AssertNoMount(t, id)

	if left := processesWithMarker(t, rt.cfg.StateRoot); len(left) > 0 {
		t.Errorf("gVisor processes of the runtime survive: %q", left)
	}
}
