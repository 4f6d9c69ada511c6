package runsc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/testutil"
)

const (
	testUID = 1000
	testGID = 1000
	python  = "/usr/bin/python3"
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
	parent := "moat-runsc-test-" + strings.TrimPrefix(ids.NewRun(), "r-")
	rt, err := New(Config{
		StateRoot:    filepath.Join(base, "state"),
		WorkDir:      filepath.Join(base, "work"),
		CgroupParent: parent,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	// moat and runsc create the parent in every hierarchy and leave it.
	t.Cleanup(func() { removeCgroupParent(t, parent) })
	return rt
}

func removeCgroupParent(t testing.TB, parent string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", parent))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", parent))
	for _, dir := range append(dirs, more...) {
		if err := syscall.Rmdir(dir); err != nil {
			t.Errorf("remove test cgroup parent: %v", err)
		}
	}
}

// newBundle writes files into a world-readable bundle directory.
func newBundle(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newSpec returns a spec with generous limits running args. Its pids limit
// of 64 is below minPids on purpose: every test runs with the raised limit.
func newSpec(t testing.TB, bundle string, args ...string) sandbox.Spec {
	t.Helper()
	return sandbox.Spec{
		ID:        ids.NewRun(),
		BundleDir: bundle,
		Args:      args,
		Env:       []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"},
		Limits: sandbox.Limits{
			CPU:         1,
			MemoryBytes: 256 << 20,
			Pids:        64,
			TmpBytes:    16 << 20,
		},
		UID: testUID,
		GID: testGID,
	}
}

type runOutput struct {
	res    sandbox.Result
	stdout string
	stderr string
}

// runSpec runs spec, fails on an error and checks that no trace of the run
// remains.
func runSpec(t testing.TB, ctx context.Context, rt *Runtime, spec sandbox.Spec) runOutput {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := rt.Run(ctx, spec, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	assertNoTrace(t, rt, spec.ID)
	return runOutput{res: res, stdout: stdout.String(), stderr: stderr.String()}
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

	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", rt.cfg.CgroupParent, id))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", rt.cfg.CgroupParent, id))
	if left := append(dirs, more...); len(left) > 0 {
		t.Errorf("cgroup directories remain: %q", left)
	}

	if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, id)); !os.IsNotExist(err) {
		t.Errorf("run directory of %q remains (stat: %v)", id, err)
	}

	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mountinfo), id) {
		t.Errorf("a mount of run %q remains", id)
	}

	if left := processesWithMarker(t, rt.cfg.StateRoot); len(left) > 0 {
		t.Errorf("gVisor processes of the runtime survive: %q", left)
	}
}

// processesWithMarker returns the host processes whose command line
// contains marker, as "pid: cmdline".
func processesWithMarker(t testing.TB, marker string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}

	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, []byte(marker)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}

// waitForProcesses polls until at least n host processes carry marker or
// timeout passes, and returns the last list it saw.
func waitForProcesses(t testing.TB, marker string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		found := processesWithMarker(t, marker)
		if len(found) >= n || time.Now().After(deadline) {
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
}
