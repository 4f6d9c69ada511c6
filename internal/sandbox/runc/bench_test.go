package runc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
)

// BenchmarkRunTrue measures one whole Runtime.Run of /bin/true: rootfs
// preparation, spec rendering, runc run, usage read and cleanup.
func BenchmarkRunTrue(b *testing.B) {
	rt := newTestRuntime(b)
	sandboxtest.BenchmarkRunTrue(b, rt, newBundle(b, nil))
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

// BenchmarkBuildRootfs measures what Run spends on the run's root alone:
// measuring, mounting and filling the tmpfs (a 20-file bundle of 4 KiB
// each and a one-file SDK), sealing it, then unmounting and removing it.
func BenchmarkBuildRootfs(b *testing.B) {
	rt := newTestRuntime(b)
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("module%02d.py", i)] = strings.Repeat("x", 4096)
	}
	spec := newSpec(b, newBundle(b, files), "/bin/true")
	sdk := newBundle(b, map[string]string{"moat_job.py": strings.Repeat("y", 16<<10)})
	spec.Mounts = []sandbox.Mount{{Source: sdk, Destination: "/opt/moat/python"}}

	for b.Loop() {
		spec.ID = ids.NewRun()
		d := rt.runDirs(spec.ID)
		if err := os.Mkdir(d.top, 0o700); err != nil {
			b.Fatal(err)
		}
		if _, err := buildRootfs(d, spec); err != nil {
			b.Fatal(err)
		}
		if err := rt.removeRunDir(spec.ID); err != nil {
			b.Fatal(err)
		}
	}
}
