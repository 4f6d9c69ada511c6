package runsc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/sandbox"
	"github.com/moatdev/moat/internal/sandbox/sandboxtest"
	"github.com/moatdev/moat/internal/worker"
)

func TestRunSuccess(t *testing.T) {
	rt := newTestRuntime(t)
	bundle := newBundle(t, nil)

	out := runSpec(t, context.Background(), rt, newSpec(t, bundle, "/bin/sh", "-c", "echo hello; echo oops >&2"))

	sandboxtest.AssertExit(t, out, 0, "hello\n", "oops\n")
	if out.Res.RuntimeVersion != "runsc 0.0~20221219.0" {
		t.Errorf("RuntimeVersion = %q, want %q (the release this backend is tested with)", out.Res.RuntimeVersion, "runsc 0.0~20221219.0")
	}
	if len(out.Res.SpecHash) != 64 || len(out.Res.SeccompSHA256) != 64 {
		t.Errorf("SpecHash = %q, SeccompSHA256 = %q, want 64 hex digits each", out.Res.SpecHash, out.Res.SeccompSHA256)
	}
	if out.Res.SeccompProfile != "moat-seccomp-1+runsc" {
		t.Errorf("SeccompProfile = %q, want %q", out.Res.SeccompProfile, "moat-seccomp-1+runsc")
	}
	if out.Res.Wall <= 0 || out.Res.Usage.CPUSeconds <= 0 || out.Res.Usage.PeakMemoryBytes <= 0 {
		t.Errorf("Wall = %v, Usage = %+v: want positive wall time, CPU and peak memory", out.Res.Wall, out.Res.Usage)
	}
}

// A regular file as the writer: the output must still arrive in order,
// because Run copies through pipes.
func TestRunOutputToFile(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "echo one; echo two >&2; echo three")
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	res, err := rt.Run(context.Background(), spec, f, f)

	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run: exit %d, %v", res.ExitCode, err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "one\ntwo\nthree\n" {
		t.Errorf("file = %q, want %q", got, "one\ntwo\nthree\n")
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

	if err == nil || !strings.Contains(err.Error(), "no-such-program") {
		t.Errorf("Run of a missing program: error %v, want runsc's error naming the program", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("ExitCode = %d, want -1 for a job that never started", res.ExitCode)
	}
	assertNoTrace(t, rt, spec.ID)
}

// stubbornJob starts a setsid'd daemon and a child that ignores SIGTERM,
// each carrying the marker $1, then prints how many processes with the
// marker its own /proc shows and sleeps forever.
const stubbornJob = `
setsid sh -c 'while :; do sleep 1; done' "$1-setsid" &
sh -c 'trap "" TERM; while :; do sleep 1; done' "$1-noterm" &
sleep 0.5
n=0
for f in /proc/[0-9]*/cmdline; do
	if grep -q -- "$1" "$f" 2>/dev/null; then n=$((n+1)); fi
done
echo "started $n"
while :; do sleep 1; done
`

func TestRunTimeoutKillsEverything(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	spec := newSpec(t, newBundle(t, map[string]string{"main.sh": stubbornJob}), "/bin/sh", "/job/main.sh", marker)

	// The sandbox's host processes carry the state root in their command
	// line; the job's processes are sentry tasks and never appear in the
	// host's /proc.
	seen := make(chan []string, 1)
	go func() { seen <- waitForProcesses(t, rt.cfg.StateRoot, 2, 20*time.Second) }()

	ctx, cancel := context.WithTimeoutCause(context.Background(), 5*time.Second, sandbox.ErrTimeout)
	defer cancel()
	out := runSpec(t, ctx, rt, spec)

	if sandboxProcs := <-seen; len(sandboxProcs) < 2 {
		t.Errorf("saw host processes %q of the sandbox while it ran, want the sentry and the gofer", sandboxProcs)
	}
	// pid 1, both children and grep's parent loop shell count.
	if n := startedCount(out.Stdout); n < 3 {
		t.Errorf("stdout = %q: the job saw %d processes with the marker, want at least 3 (pid 1, setsid child, SIGTERM-ignoring child)", out.Stdout, n)
	}
	if !errors.Is(out.Res.KillCause, sandbox.ErrTimeout) {
		t.Errorf("KillCause = %v, want ErrTimeout", out.Res.KillCause)
	}
	if out.Res.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137 (SIGKILL)", out.Res.ExitCode)
	}
	if left := processesWithMarker(t, marker); len(left) > 0 {
		t.Errorf("processes with the job's marker exist on the host: %q", left)
	}
}

// startedCount parses "started N" from the job's output; -1 if absent.
func startedCount(stdout string) int {
	for _, line := range strings.Split(stdout, "\n") {
		if n, ok := strings.CutPrefix(line, "started "); ok {
			v, err := strconv.Atoi(n)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

func TestRunCancelReportsCause(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "echo up; while :; do sleep 1; done")

	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		time.Sleep(2 * time.Second)
		cancel(sandbox.ErrCancelled)
	}()
	out := runSpec(t, ctx, rt, spec)

	if !errors.Is(out.Res.KillCause, sandbox.ErrCancelled) {
		t.Errorf("KillCause = %v, want ErrCancelled", out.Res.KillCause)
	}
}

func TestRunAlreadyCancelled(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/true")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(sandbox.ErrCancelled)

	res, err := rt.Run(ctx, spec, nil, nil)

	if err != nil || !errors.Is(res.KillCause, sandbox.ErrCancelled) || res.ExitCode != -1 {
		t.Errorf("Run = exit %d, cause %v, err %v; want -1, ErrCancelled, nil", res.ExitCode, res.KillCause, err)
	}
	assertNoTrace(t, rt, spec.ID)
}

// When PID 1 exits, the sandbox ends and takes a setsid'd daemon with it.
func TestRunDaemonDiesWithPid1(t *testing.T) {
	rt := newTestRuntime(t)
	marker := "marker-" + ids.NewRun()
	script := `setsid sh -c 'while :; do sleep 1; done' "$1-daemon" & sleep 0.3; echo parent-done`
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", script, "sh", marker)

	ctx, cancel := context.WithTimeoutCause(context.Background(), 60*time.Second, sandbox.ErrTimeout)
	defer cancel()
	out := runSpec(t, ctx, rt, spec)

	if out.Res.KillCause != nil {
		t.Errorf("KillCause = %v, want nil: the run must end when PID 1 exits, not wait for the daemon", out.Res.KillCause)
	}
	if out.Res.ExitCode != 0 || out.Stdout != "parent-done\n" {
		t.Errorf("ExitCode = %d, stdout = %q; want 0, %q", out.Res.ExitCode, out.Stdout, "parent-done\n")
	}
	if left := processesWithMarker(t, marker); len(left) > 0 {
		t.Errorf("daemon survives: %q", left)
	}
}

// An allocation past the memory limit: the kernel OOM-kills a process of
// the sandbox (gVisor's sentry holds the job's memory), which ends the
// whole sandbox. runsc reports 137, the cgroup one OOM kill, and the worker
// decides oom.
func TestRunOOM(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), python, "-c", "x = bytearray(400 << 20); print('survived')")

	out := runSpec(t, context.Background(), rt, spec)

	if out.Res.Usage.OOMKills < 1 {
		t.Errorf("OOMKills = %d, want >= 1 (exit %d, stderr %q)", out.Res.Usage.OOMKills, out.Res.ExitCode, out.Stderr)
	}
	if out.Res.ExitCode != 137 {
		t.Errorf("ExitCode = %d, want 137 (the sandbox was SIGKILLed)", out.Res.ExitCode)
	}
	if strings.Contains(out.Stdout, "survived") {
		t.Error("the allocation past the limit succeeded")
	}
	if cause, reason := worker.DecideCause(out.Res, nil); cause != worker.CauseOOM {
		t.Errorf("worker cause = %q (%s), want %q", cause, reason, worker.CauseOOM)
	}
}

// A fork bomb. On the ptrace platform every process of the job is backed
// by a host stub process, so the bomb reaches the cgroup's pids limit. The
// sentry then panics ("error initializing first thread: resource
// temporarily unavailable") and the sandbox ends with the Go runtime's
// exit status 2. On this host that happens before the memory limit.
func TestRunForkBomb(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "b() { b | b & }; b; sleep 30")

	ctx, cancel := context.WithTimeoutCause(context.Background(), 120*time.Second, sandbox.ErrTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := rt.Run(ctx, spec, &stdout, &stderr)
	assertNoTrace(t, rt, spec.ID)

	if err != nil {
		t.Fatalf("Run: %v (a fork bomb is the job's failure, not an infrastructure error)", err)
	}
	if res.KillCause != nil {
		t.Fatalf("KillCause = %v: the fork bomb did not end the sandbox within 120 s", res.KillCause)
	}
	cause, reason := worker.DecideCause(res, nil)
	t.Logf("fork bomb: exit %d, usage %+v, cause %s (%s)", res.ExitCode, res.Usage, cause, reason)
	if cause != worker.CausePidsExhausted && cause != worker.CauseOOM {
		t.Errorf("worker cause = %q, want %q or %q", cause, worker.CausePidsExhausted, worker.CauseOOM)
	}
}

// moat's leaf gets the raised pids limit and the memory and CPU limits;
// runsc leaves them as written.
func TestRunCgroupLimits(t *testing.T) {
	rt := newTestRuntime(t)
	if len(rt.mounts.v1) == 0 {
		t.Skip("reads cgroup v1 files; this host has cgroup v2 only")
	}
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "echo up; sleep 3")
	leaf := func(controller, file string) string {
		return filepath.Join(rt.mounts.v1[controller], rt.cgroupPath(spec.ID), file)
	}

	read := make(chan map[string]string, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(leaf("pids", "pids.max")); err == nil {
				time.Sleep(500 * time.Millisecond)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		values := map[string]string{}
		for _, f := range [][2]string{{"pids", "pids.max"}, {"memory", "memory.limit_in_bytes"}, {"cpu", "cpu.cfs_quota_us"}} {
			b, _ := os.ReadFile(leaf(f[0], f[1]))
			values[f[1]] = strings.TrimSpace(string(b))
		}
		read <- values
	}()
	runSpec(t, context.Background(), rt, spec)

	got := <-read
	want := map[string]string{"pids.max": "512", "memory.limit_in_bytes": "268435456", "cpu.cfs_quota_us": "100000"}
	for file, value := range want {
		if got[file] != value {
			t.Errorf("%s = %q, want %q", file, got[file], value)
		}
	}
}

// The sentry and its stub processes run as nobody on the host.
func TestRunSentryRunsAsNobody(t *testing.T) {
	rt := newTestRuntime(t)
	spec := newSpec(t, newBundle(t, nil), "/bin/sh", "-c", "sleep 3")

	uids := make(chan []string, 1)
	go func() {
		var found []string
		for _, p := range waitForProcesses(t, "runsc-sandbox", 1, 20*time.Second) {
			pid, cmdline, _ := strings.Cut(p, ": ")
			if !strings.Contains(cmdline, rt.cfg.StateRoot) {
				continue
			}
			status, _ := os.ReadFile(filepath.Join("/proc", pid, "status"))
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "Uid:") {
					found = append(found, strings.Join(strings.Fields(line)[1:], " "))
				}
			}
		}
		uids <- found
	}()
	out := runSpec(t, context.Background(), rt, spec)

	got := <-uids
	if len(got) == 0 {
		t.Fatal("found no runsc-sandbox process of this runtime while the job ran")
	}
	for _, u := range got {
		if u != "65534 65534 65534 65534" {
			t.Errorf("sentry uids = %q, want nobody (65534) for real, effective, saved and filesystem uid", u)
		}
	}
	if !out.Res.UserNamespace || out.Res.HostUID != sentryID || out.Res.HostGID != sentryID {
		t.Errorf("Result: UserNamespace %v, host ids %d:%d; want true, 65534:65534", out.Res.UserNamespace, out.Res.HostUID, out.Res.HostGID)
	}
}
