package runc

import (
	"context"
	"io"
	"os/exec"
	"testing"
)

// BenchmarkRunTrue measures one whole Runtime.Run of /bin/true: rootfs
// preparation, spec rendering, runc run, usage read and cleanup.
func BenchmarkRunTrue(b *testing.B) {
	rt := newTestRuntime(b)
	bundle := newBundle(b, nil)

	for b.Loop() {
		spec := newSpec(b, bundle, "/bin/true")
		res, err := rt.Run(context.Background(), spec, io.Discard, io.Discard)
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run: exit %d, %v", res.ExitCode, err)
		}
	}
}

// BenchmarkRawRuncRun measures plain `runc run` (which deletes the
// container itself) of the same rendered rootfs and spec, prepared once:
// the floor Runtime.Run is compared with.
func BenchmarkRawRuncRun(b *testing.B) {
	rt := newTestRuntime(b)
	spec := newSpec(b, newBundle(b, nil), "/bin/true")
	d := prepareBundle(b, rt, spec)
	b.Cleanup(func() {
		if err := rt.removeAll(spec.ID); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})

	for b.Loop() {
		cmd := exec.Command(rt.cfg.Binary, "--root", rt.cfg.StateRoot, "run", "--bundle", d.bundle, spec.ID)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("runc run: %v: %s", err, out)
		}
	}
}
