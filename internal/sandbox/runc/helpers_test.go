package runc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/testutil"
)

const (
	testUID = 1000
	testGID = 1000
	python  = "/usr/bin/python3"
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
	parent := "moat-test-" + strings.TrimPrefix(ids.NewRun(), "r-")
	rt, err := New(Config{
		StateRoot:    filepath.Join(base, "state"),
		WorkDir:      filepath.Join(base, "work"),
		CgroupParent: parent,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	// runc creates the parent in every hierarchy and leaves it behind.
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", parent))
		more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", parent))
		for _, dir := range append(dirs, more...) {
			if err := syscall.Rmdir(dir); err != nil {
				t.Errorf("remove test cgroup parent: %v", err)
			}
		}
	})
	return rt
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

// newSpec returns a spec with generous limits running args.
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

// runSpec runs spec and checks that no trace of the run remains.
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

	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", rt.cfg.CgroupParent, id))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", rt.cfg.CgroupParent, id))
	if left := append(dirs, more...); len(left) > 0 {
		t.Errorf("cgroup directories remain: %q", left)
	}

	if _, err := os.Stat(filepath.Join(rt.cfg.WorkDir, id)); !os.IsNotExist(err) {
		t.Errorf("run directory of %q remains (stat: %v)", id, err)
	}
	if _, err := os.Stat(filepath.Join(rt.cfg.RootfsDir, id)); !os.IsNotExist(err) {
		t.Errorf("rootfs mount point of %q remains (stat: %v)", id, err)
	}

	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mountinfo), id) {
		t.Errorf("a mount of run %q remains", id)
	}
}

// processesWithMarker returns the host pids whose command line contains
// marker.
func processesWithMarker(t testing.TB, marker string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}

	var found []string
	self := []byte(marker)
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmdline, self) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return found
}
