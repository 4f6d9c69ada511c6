// Package testutil holds helpers shared by moat's tests.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequirePrivileged skips a test that needs root (runc, network namespaces,
// cgroups) when the process is not root. With MOAT_REQUIRE_PRIVILEGED=1, as
// 'make test' sets it, the skip becomes a failure, so a test run cannot
// pass by skipping every privileged test.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("MOAT_REQUIRE_PRIVILEGED") == "1" {
		t.Fatal("this test needs root (runc, network namespaces, cgroups) and MOAT_REQUIRE_PRIVILEGED=1 forbids skipping it: run 'make test' as root")
	}
	t.Skip("needs root for runc, network namespaces and cgroups; run as root to include it")
}

// RuncPath returns the runc binary the tests use, as setup installs it,
// or skips (fails under MOAT_REQUIRE_PRIVILEGED=1) when there is none.
func RuncPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/local/sbin/runc"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("runc"); err == nil {
		return p
	}
	if os.Getenv("MOAT_REQUIRE_PRIVILEGED") == "1" {
		t.Fatal("runc not found: run 'make setup' (scripts/setup.sh) to install runc 1.5.3")
	}
	t.Skip("runc not found; run 'make setup' to install it")
	return ""
}

// SharedData returns the directory of the Ethereum sample data: env
// MOAT_SHARED_DATA, else ../shared/data/ethereum beside the module root.
// It skips when the data is absent, or fails under
// MOAT_REQUIRE_PRIVILEGED=1, because 'make test' must exercise real data.
func SharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MOAT_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(ModuleRoot(t), "..", "shared", "data", "ethereum")
	}
	if _, err := os.Stat(filepath.Join(dir, "SOURCES.md")); err != nil {
		if os.Getenv("MOAT_REQUIRE_PRIVILEGED") == "1" {
			t.Fatalf("Ethereum sample data not found at %q: put the shared folder beside the repository or set MOAT_SHARED_DATA", dir)
		}
		t.Skipf("Ethereum sample data not found at %q; set MOAT_SHARED_DATA", dir)
	}
	return dir
}

// ModuleRoot returns the repository root (the directory of go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the testutil source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
