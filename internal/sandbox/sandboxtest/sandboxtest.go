// Package sandboxtest holds the test helpers the runc and runsc backends
// share: bundles and specs, a run that checks its cleanup, assertions that
// no trace of a run remains, scans of host processes and loopback
// greeting servers. Only tests import it.
package sandboxtest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
)

// UID and GID are the ids the job runs as in NewSpec's spec.
const (
	UID = 1000
	GID = 1000
)

// NewBundle writes files into a world-readable bundle directory.
func NewBundle(t testing.TB, files map[string]string) string {
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

// NewSpec returns a spec with a fresh run id and generous limits (1 CPU,
// 256 MiB of memory, 64 pids, 16 MiB of /tmp) running args as UID:GID.
func NewSpec(t testing.TB, bundle string, args ...string) sandbox.Spec {
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
		UID: UID,
		GID: GID,
	}
}

// Output is the result of one run with its captured output.
type Output struct {
	Res    sandbox.Result
	Stdout string
	Stderr string
}

// Run runs spec on rt, fails the test on an error and then calls
// assertNoTrace with the run id.
func Run(t testing.TB, ctx context.Context, rt sandbox.Runtime, spec sandbox.Spec, assertNoTrace func(id string)) Output {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := rt.Run(ctx, spec, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	assertNoTrace(spec.ID)
	return Output{Res: res, Stdout: stdout.String(), Stderr: stderr.String()}
}

// TestCgroupParent returns a cgroup parent name of its own for one test
// runtime, prefix followed by 16 random hex digits, and registers the
// removal of its directory in every hierarchy when the test ends: the
// backends create the parent and leave it behind.
func TestCgroupParent(t testing.TB, prefix string) string {
	t.Helper()
	parent := prefix + strings.TrimPrefix(ids.NewRun(), "r-")
	t.Cleanup(func() {
		for _, dir := range cgroupDirs(parent) {
			if err := syscall.Rmdir(dir); err != nil {
				t.Errorf("remove test cgroup parent: %v", err)
			}
		}
	})
	return parent
}

// AssertNoCgroup checks that run id has no cgroup directory below parent
// in any hierarchy.
func AssertNoCgroup(t testing.TB, parent, id string) {
	t.Helper()
	if left := cgroupDirs(filepath.Join(parent, id)); len(left) > 0 {
		t.Errorf("cgroup directories remain: %q", left)
	}
}

// cgroupDirs returns the directories of the cgroup at rel in the v1
// hierarchies and in the unified one.
func cgroupDirs(rel string) []string {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", rel))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", rel))
	return append(dirs, more...)
}

// AssertNoMount checks that no mount in /proc/self/mountinfo names run id.
func AssertNoMount(t testing.TB, id string) {
	t.Helper()
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mountinfo), id) {
		t.Errorf("a mount of run %q remains", id)
	}
}

// ProcessesWithMarker returns the host processes whose command line
// contains marker, as "pid: cmdline".
func ProcessesWithMarker(t testing.TB, marker string) []string {
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

// WaitForProcesses polls until at least n host processes carry marker or
// timeout passes, and returns the last list it saw.
func WaitForProcesses(t testing.TB, marker string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		found := ProcessesWithMarker(t, marker)
		if len(found) >= n || time.Now().After(deadline) {
			return found
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// AssertExit checks that out is a run that exited with exitCode, printed
// exactly stdout and stderr, and was not killed.
func AssertExit(t testing.TB, out Output, exitCode int, stdout, stderr string) {
	t.Helper()
	if out.Res.ExitCode != exitCode {
		t.Errorf("ExitCode = %d, want %d (stderr %q)", out.Res.ExitCode, exitCode, out.Stderr)
	}
	if out.Stdout != stdout {
		t.Errorf("stdout = %q, want %q", out.Stdout, stdout)
	}
	if out.Stderr != stderr {
		t.Errorf("stderr = %q, want %q", out.Stderr, stderr)
	}
	if out.Res.KillCause != nil {
		t.Errorf("KillCause = %v, want nil", out.Res.KillCause)
	}
}

// BenchmarkRunTrue runs /bin/true from bundle on rt once per benchmark
// iteration and fails on an error or a non-zero exit.
func BenchmarkRunTrue(b *testing.B, rt sandbox.Runtime, bundle string) {
	for b.Loop() {
		spec := NewSpec(b, bundle, "/bin/true")
		res, err := rt.Run(context.Background(), spec, io.Discard, io.Discard)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run: exit %d, %v", res.ExitCode, err)
		}
	}
}
