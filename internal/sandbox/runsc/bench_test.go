package runsc

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moatdev/moat/internal/sandbox/runc"
	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
	"github.com/moatdev/moat/internal/testutil"
)

// BenchmarkRunscTrue measures one whole Runtime.Run of /bin/true: rootfs
// preparation, spec rendering, cgroup setup, runsc run, usage read and
// cleanup.
func BenchmarkRunscTrue(b *testing.B) {
	rt := newTestRuntime(b)
	sandboxtest.BenchmarkRunTrue(b, rt, newBundle(b, nil))
}

// BenchmarkRawRuncRun measures plain `runc run` (which deletes the
// container and its cgroup itself) of the same rendered rootfs and the
// unadapted spec, prepared once: the baseline BenchmarkRunscTrue is
// compared with.
func BenchmarkRawRuncRun(b *testing.B) {
	rt := newTestRuntime(b)
	runcBinary := testutil.RuncPath(b)
	spec := newSpec(b, newBundle(b, nil), "/bin/true")
	p, err := runc.Render(rt.cfg.WorkDir, rt.cgroupPath(spec.ID), spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := p.Remove(); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})
	writeJSON(b, filepath.Join(p.BundleDir, "config.json"), p.Spec)
	state := b.TempDir()

	for b.Loop() {
		cmd := exec.Command(runcBinary, "--root", state, "run", "--bundle", p.BundleDir, spec.ID)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, out)
		}
	}
}

func writeJSON(b *testing.B, path string, v any) {
	b.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRawRunscRun measures plain `runsc run` of the same rendered
// rootfs and the adapted spec, prepared once, with runsc creating and
// removing the cgroup itself: the gVisor floor, without moat's cgroup
// setup, usage read and cleanup.
func BenchmarkRawRunscRun(b *testing.B) {
	rt := newTestRuntime(b)
	spec := newSpec(b, newBundle(b, nil), "/bin/true")
	p, err := runc.Render(rt.cfg.WorkDir, rt.cgroupPath(spec.ID), spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := rt.removeAll(spec.ID); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})
	adaptSpec(p.Spec)
	writeJSON(b, filepath.Join(p.BundleDir, "config.json"), p.Spec)

	for b.Loop() {
		cmd := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "--network", "none", "--oci-seccomp",
			"run", "--bundle", p.BundleDir, spec.ID)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runsc run: %v: %s", err, out)
		}
	}
}
