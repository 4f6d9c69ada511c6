package runc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
)

func TestRunSuccess(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, nil)

	out := runSpec(t, context.Background(), rt, newSpec(t, bundle, "/bin/sh", "-c", "echo hello; echo oops >&2"))

	sandboxtest.AssertExit(t, out, 0, "hello\n", "oops\n")
	want, err := Version(rt.cfg.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if out.Res.RuntimeVersion != want || !strings.HasPrefix(want, "runc ") {
		t.Errorf("RuntimeVersion = %q, want %q", out.Res.RuntimeVersion, want)
	}
	if len(out.Res.SpecHash) != 64 {
		t.Errorf("SpecHash = %q, want 64 hex digits", out.Res.SpecHash)
	}
	if out.Res.Wall <= 0 {
		t.Errorf("Wall = %v, want > 0", out.Res.Wall)
	}
}

func TestRunExitCode(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, map[string]string{"main.sh": "echo failing\nexit 3\n"})

	out := runSpec(t, context.Background(), rt, newSpec(t, bundle, "/bin/sh", "/job/main.sh"))

	if out.Res.ExitCode != 3 {
		t.Errorf("ExitCode = %d, want 3", out.Res.ExitCode)
	}
	if out.Stdout != "failing\n" {
		t.Errorf("stdout = %q, want %q", out.Stdout, "failing\n")
	}
}

func TestRunMissingProgramFails(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/usr/bin/no-such-program")

	res, err := rt.Run(context.Background(), spec, nil, nil)

	if err == nil {
		t.Fatalf("Run of a missing program returned no error (ExitCode %d)", res.ExitCode)
	}
	if testing.Verbose() {
		t.Logf("error: %v", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1 for a container that never started", res.ExitCode)
	}
	assertNoTrace(t, rt, spec.ID)
}

// stubbornChildren starts a setsid'd daemon, a child that ignores SIGTERM
// and a double-forked grandchild whose parent exits at once, so it is
// reparented to PID 1 of the container. Each carries the marker $1.
const stubbornChildren = `
setsid sh -c 'while :; do sleep 1; done' "$1-setsid" &
sh -c 'trap "" TERM; while :; do sleep 1; done' "$1-noterm" &
sh -c 'sh -c "while :; do sleep 1; done" "$0-grandchild" & exit 0' "$1-double"
`

// A job that sleeps forever after starting stubbornChildren: the timeout
// must end all four.
const stubbornJob = stubbornChildren + `
echo started
while :; do sleep 1; done
`

func TestRunTimeoutKillsEverything(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	bundle := newBundle(t, map[string]string{"main.sh": stubbornJob})
	spec := newSpec(t, bundle, "/bin/sh", "/job/main.sh", marker)

	seen := make(chan int, 1)
	go func() { seen <- waitForMarkers(t, marker, 4, 10*time.Second) }()

	ctx, cancel := context.WithTimeoutCause(context.Background(), 2*time.Second, sandbox.ErrTimeout)
	defer cancel()
	out := runSpec(t, ctx, rt, spec)

	if n := <-seen; n < 4 {
		t.Errorf("saw %d processes with the marker while running, want 4 (pid 1, setsid child, SIGTERM-ignoring child, double-forked grandchild)", n)
	}
	if !out.Res.UserNamespace {
		t.Error("the run had no user namespace")
	}
	if !errors.Is(out.Res.KillCause, sandbox.ErrTimeout) {
		t.Errorf("KillCause = %v, want ErrTimeout", out.Res.KillCause)
	}
	if out.Res.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137 (SIGKILL)", out.Res.ExitCode)
	}
	if out.Stdout != "started\n" {
		t.Errorf("stdout = %q, want %q", out.Stdout, "started\n")
	}
	if left := processesWithMarker(t, marker); len(left) > 0 {
		t.Errorf("processes of the run survive: %q", left)
	}
}

func TestRunCancelReportsCause(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "echo started; while :; do sleep 1; done")

	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		time.Sleep(time.Second)
		cancel(sandbox.ErrCancelled)
	}()
	out := runSpec(t, ctx, rt, spec)

	if !errors.Is(out.Res.KillCause, sandbox.ErrCancelled) {
		t.Errorf("KillCause = %v, want ErrCancelled", out.Res.KillCause)
	}
	if out.Res.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137", out.Res.ExitCode)
	}
}

func TestRunDaemonDiesWithPid1(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	// PID 1 waits until all three children run (grep counts itself as a
	// fourth), then exits 0.
	script := stubbornChildren + `
while [ "$(grep -l "$1-" /proc/[0-9]*/cmdline 2>/dev/null | wc -l)" -lt 4 ]; do sleep 0.1; done
echo started
exit 0
`
	spec := newSpec(t, newBundle(t, map[string]string{"main.sh": script}), "/bin/sh", "/job/main.sh", marker)

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.ExitCode != 0 {
		t.Errorf("ExitCode = %d, want 0", out.Res.ExitCode)
	}
	if out.Stdout != "started\n" {
		t.Errorf("stdout = %q, want %q", out.Stdout, "started\n")
	}
	if left := processesWithMarker(t, marker); len(left) > 0 {
		t.Errorf("children survive their PID 1: %q", left)
	}
}

func TestRunOOM(t *testing.T) {
	rt := newTestRuntime(t)
	script := "chunks = []\nwhile True:\n    chunks.append(b'x' * (8 << 20))\n"
	spec := newSpec(t, newBundle(t, map[string]string{"oom.py": script}), python, "/job/oom.py")
	spec.Limits.MemoryBytes = 64 << 20
	spec.Limits.TmpBytes = 8 << 20

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.Usage.OOMKills < 1 {
		t.Errorf("Usage.OOMKills = %d, want >= 1", out.Res.Usage.OOMKills)
	}
	if out.Res.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137", out.Res.ExitCode)
	}
	if out.Res.Usage.PeakMemoryBytes < 32<<20 || out.Res.Usage.PeakMemoryBytes > 64<<20 {
		t.Errorf("Usage.PeakMemoryBytes = %d, want between 32 MiB and the 64 MiB limit", out.Res.Usage.PeakMemoryBytes)
	}
}

func TestRunPidsLimit(t *testing.T) {
	rt := newTestRuntime(t)
	script := `i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done 2>/dev/null; echo done`
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", script)
	spec.Limits.Pids = 16

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.Usage.PidsHits < 1 {
		t.Errorf("Usage.PidsHits = %d, want >= 1 (stdout %q, stderr %q)", out.Res.Usage.PidsHits, out.Stdout, out.Stderr)
	}
}

func TestRunCPUUsage(t *testing.T) {
	rt := newTestRuntime(t)
	script := "import time\nwhile time.process_time() < 0.5:\n    pass\n"
	spec := newSpec(t, newBundle(t, map[string]string{"spin.py": script}), python, "/job/spin.py")

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, stderr %q", out.Res.ExitCode, out.Stderr)
	}
	if out.Res.Usage.CPUSeconds < 0.5 {
		t.Errorf("Usage.CPUSeconds = %v, want >= 0.5 (the job spun 0.5 s of its own CPU time)", out.Res.Usage.CPUSeconds)
	}
	if out.Res.Usage.PeakMemoryBytes <= 0 {
		t.Errorf("Usage.PeakMemoryBytes = %d, want > 0", out.Res.Usage.PeakMemoryBytes)
	}
}

func TestRunConcurrent(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, nil)

	type result struct {
		spec   sandbox.Spec
		res    sandbox.Result
		stdout string
		err    error
	}
	results := make(chan result, 3)
	for i := range 3 {
		spec := newSpec(t, bundle, "/bin/sh", "-c", fmt.Sprintf("sleep 0.3; echo run-%d", i))
		go func() {
			var stdout strings.Builder
			res, err := rt.Run(context.Background(), spec, &stdout, nil)
			results <- result{spec: spec, res: res, stdout: stdout.String(), err: err}
		}()
	}

	seen := map[string]bool{}
	for range 3 {
		r := <-results
		if r.err != nil {
			t.Errorf("Run %q: %v", r.spec.ID, r.err)
		}
		if r.res.ExitCode != 0 {
			t.Errorf("Run %q: ExitCode = %d, want 0", r.spec.ID, r.res.ExitCode)
		}
		seen[r.stdout] = true
		assertNoTrace(t, rt, r.spec.ID)
	}
	for i := range 3 {
		if want := fmt.Sprintf("run-%d\n", i); !seen[want] {
			t.Errorf("no run printed %q; outputs %v", want, seen)
		}
	}
}

// waitForMarkers polls the host's processes until at least want carry
// marker or the timeout passes, and returns the largest count seen.
func waitForMarkers(t testing.TB, marker string, want int, timeout time.Duration) int {
	best := 0
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n := len(processesWithMarker(t, marker))
		best = max(best, n)
		if best >= want {
			return best
		}
		time.Sleep(50 * time.Millisecond)
	}
	return best
}

func TestRunAlreadyCancelled(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/true")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(sandbox.ErrCancelled)

	out := runSpec(t, ctx, rt, spec)

	if !errors.Is(out.Res.KillCause, sandbox.ErrCancelled) {
		t.Errorf("KillCause = %v, want ErrCancelled", out.Res.KillCause)
	}
	if out.Res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1 (never started)", out.Res.ExitCode)
	}
}
