package embedded_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/sandbox/seccomp"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/worker"
)

const shManifest = `name: %s
kind: transform
runtime: binary
entrypoint: run.sh
resources:
  memory: 64Mi
  tmp: 8Mi
  pids: 32
  timeout: %s
`

const pyManifest = `name: %s
kind: alert
runtime: python3
entrypoint: main.py
inputs: [%s]
webhooks: [%s]
resources:
  memory: %s
  tmp: 8Mi
  pids: 32
  timeout: 60s
`

func TestRunNonZeroExit(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "exit-three", "30s"),
		"run.sh":    "#!/bin/sh\necho about to fail\nexit 3\n",
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseFailed {
		t.Fatalf("cause = %q, want failed (reason %q)", run.Cause, run.Reason)
	}
	if run.ExitCode == nil || *run.ExitCode != 3 {
		t.Fatalf("exit code = %v, want 3", run.ExitCode)
	}
	if !strings.Contains(out, "about to fail") {
		t.Errorf("live output %q lacks the job's line", out)
	}
	if got := worker.ExitCode(run.Cause, run.ExitCode); got != 3 {
		t.Errorf("moat run exit status = %d, want 3", got)
	}
}

func TestRunTimeoutKillsDetachedChildren(t *testing.T) {
	h := newHarness(t, nil)
	// Each process sleeps for a marker duration so the test can find
	// survivors by their command line.
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "sleeper", "2s"),
		"run.sh": `#!/bin/sh
setsid sleep 4242001 &
sh -c 'trap "" TERM; sleep 4242002' &
echo started
sleep 4242003
`,
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseTimeout {
		t.Fatalf("cause = %q, want timeout (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	for _, marker := range []string{"4242001", "4242002", "4242003"} {
		if pid := findProcess(marker); pid != "" {
			t.Errorf("process %s with marker %s survived the timeout", pid, marker)
		}
	}
	if got := worker.ExitCode(run.Cause, run.ExitCode); got != 101 {
		t.Errorf("moat run exit status = %d, want 101", got)
	}
}

func TestRunOOMIsReportedAsOOM(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "memory-bomb", "", "", "64Mi"),
		"main.py": `
chunks = []
while True:
    chunks.append(bytearray(8 << 20))
`,
	})

	run, _ := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseOOM {
		t.Fatalf("cause = %q, want oom (reason %q)", run.Cause, run.Reason)
	}
	if run.OOMKills < 1 {
		t.Errorf("oom kills = %d, want at least 1", run.OOMKills)
	}
	if run.PeakMemoryBytes < 32<<20 {
		t.Errorf("peak memory = %d bytes, want at least 32 MiB for a job that filled 64 MiB", run.PeakMemoryBytes)
	}
}

func TestRunPidsExhaustion(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "fork-bomb", "", "", "128Mi"),
		"main.py": `
import os, sys, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as e:
    print("fork failed after", children, "children:", e.strerror)
    sys.exit(2)
`,
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CausePidsExhausted {
		t.Fatalf("cause = %q, want pids_exhausted (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	if run.PidsHits < 1 {
		t.Errorf("pids hits = %d, want at least 1", run.PidsHits)
	}
	if !strings.Contains(out, "fork failed after") {
		t.Errorf("output %q lacks the job's fork failure", out)
	}
}

func TestRunRootIsReadOnly(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "writer", "", "", "64Mi"),
		"main.py": `
import errno
for path in ["/pwned", "/usr/pwned", "/etc/pwned", "/job/pwned", "/opt/moat/python/pwned"]:
    try:
        open(path, "w").write("x")
        print("WROTE", path)
    except OSError as e:
        print("DENIED", path, errno.errorcode[e.errno])
open("/tmp/ok", "w").write("fine")
print("TMP", open("/tmp/ok").read())
`,
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	if strings.Contains(out, "WROTE") {
		t.Errorf("the job wrote outside /tmp:\n%s", out)
	}
	for _, path := range []string{"/pwned", "/usr/pwned", "/etc/pwned", "/job/pwned", "/opt/moat/python/pwned"} {
		if !strings.Contains(out, "DENIED "+path+" EROFS") {
			t.Errorf("write to %s was not denied with EROFS:\n%s", path, out)
		}
	}
	if !strings.Contains(out, "TMP fine") {
		t.Errorf("/tmp is not writable:\n%s", out)
	}
}

func TestRunHasNoNetworkRoute(t *testing.T) {
	h := newHarness(t, nil)

	// A listener on the host's loopback that the job must not reach.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	// 192.0.2.1 is TEST-NET-1 (RFC 5737), never routed; the sandbox has no
	// route at all, so the connect fails before any packet is sent.
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "netprobe", "", "", "64Mi"),
		"main.py": fmt.Sprintf(`
import errno, socket
for host, port in [("127.0.0.1", %d), ("192.0.2.1", 80)]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        print("CONNECTED", host)
    except OSError as e:
        print("FAILED", host, errno.errorcode.get(e.errno, e.errno))
print("ROUTES", open("/proc/net/route").read().count("\n") - 1)
print("RESOLV", repr(open("/etc/resolv.conf").read()) if __import__("os").path.exists("/etc/resolv.conf") else "absent")
`, port),
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (output %q)", run.Cause, out)
	}
	if strings.Contains(out, "CONNECTED") {
		t.Errorf("the job connected somewhere:\n%s", out)
	}
	if !strings.Contains(out, "FAILED 127.0.0.1 ECONNREFUSED") {
		t.Errorf("connect to the host's loopback did not fail with ECONNREFUSED:\n%s", out)
	}
	if !strings.Contains(out, "FAILED 192.0.2.1 ENETUNREACH") {
		t.Errorf("connect to a non-loopback address did not fail with ENETUNREACH:\n%s", out)
	}
	if !strings.Contains(out, "ROUTES 0") {
		t.Errorf("the sandbox has IPv4 routes:\n%s", out)
	}
	select {
	case <-accepted:
		t.Error("the host listener accepted a connection from the sandbox")
	default:
	}
}

func TestRunQueriesAndDeliversWebhook(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	hostport := strings.TrimPrefix(srv.URL, "http://")

	h := newHarness(t, func(c *config.Config) { c.EgressAllow = []string{hostport} })
	h.importPlatform("ethereum.token_transfers")
	ctx := context.Background()
	if err := h.store.SetWebhook(ctx, "admin", store.Webhook{Org: "acme", Name: "alerts", URL: srv.URL + "/hook"}); err != nil {
		t.Fatal(err)
	}

	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "max-transfer", "ethereum.token_transfers", "alerts", "128Mi"),
		"main.py": `
import moat_job
rows = moat_job.query("select max(value::BIGNUM) as v, count(*) as n from ethereum.token_transfers")
print("MAX", rows[0]["v"], "COUNT", rows[0]["n"])
moat_job.webhook("alerts", {"max": str(rows[0]["v"])})
`,
	})

	run, out := h.run(ctx, dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	want := maxTokenTransferValue(t, h.cfg.SharedData)
	if !strings.Contains(out, "MAX "+want+" COUNT 14323") {
		t.Errorf("output %q does not contain the exact max value %s and count 14323", out, want)
	}
	if run.Queries != 1 || run.RowsReturned != 1 || run.WebhookCalls != 1 {
		t.Errorf("counters queries=%d rows=%d webhooks=%d, want 1, 1, 1", run.Queries, run.RowsReturned, run.WebhookCalls)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], want) {
		t.Fatalf("receiver got %q, want one call carrying %s", bodies, want)
	}
	if keys[0] != run.ID+"-1" {
		t.Errorf("idempotency key = %q, want %q", keys[0], run.ID+"-1")
	}

	types := eventTypes(h.events(run.ID))
	for _, typ := range []string{"run.queued", "run.started", "query", "webhook.queued", "run.finished", "webhook.delivered"} {
		if !strings.Contains(types, typ) {
			t.Errorf("audit events %s lack %s", types, typ)
		}
	}
}

func TestRunCancelFromStore(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "long", "60s"),
		"run.sh":    "#!/bin/sh\nsleep 4242004\n",
	})

	ctx := context.Background()
	go func() {
		// Another process would do the same through 'moat runs cancel'.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			runs, err := h.store.ListRuns(ctx, store.RunFilter{State: store.RunRunning})
			if err == nil && len(runs) == 1 {
				_ = h.store.RequestCancel(ctx, runs[0].ID)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()

	run, _ := h.run(ctx, dir, "acme")

	if run.Cause != worker.CauseCancelled {
		t.Fatalf("cause = %q, want cancelled (reason %q)", run.Cause, run.Reason)
	}
	if pid := findProcess("4242004"); pid != "" {
		t.Errorf("process %s survived the cancel", pid)
	}
}

func TestThreeRunsAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.importPlatform("ethereum.token_transfers")
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "counter", "ethereum.token_transfers", "", "128Mi"),
		"main.py": `
import moat_job
print("COUNT", moat_job.query("select count(*) as n from ethereum.token_transfers")[0]["n"])
`,
	})

	var wg sync.WaitGroup
	runs := make([]store.Run, 3)
	outs := make([]string, 3)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i], outs[i] = h.run(context.Background(), dir, "acme")
		}()
	}
	wg.Wait()

	seen := map[string]bool{}
	for i, r := range runs {
		if r.Cause != worker.CauseSucceeded {
			t.Errorf("run %d cause = %q (reason %q)", i, r.Cause, r.Reason)
		}
		if !strings.Contains(outs[i], "COUNT 14323") {
			t.Errorf("run %d output %q lacks COUNT 14323", i, outs[i])
		}
		if seen[r.ID] {
			t.Errorf("run id %s used twice", r.ID)
		}
		seen[r.ID] = true
	}
	if _, err := h.store.VerifyChain(context.Background()); err != nil {
		t.Errorf("audit chain broken after concurrent runs: %v", err)
	}
}

// findProcess returns the pid of a host process whose command line
// contains marker, or "".
func findProcess(marker string) string {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmdline), marker) {
			return e.Name()
		}
	}
	return ""
}

func eventTypes(events []store.Event) string {
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return strings.Join(types, ",")
}

func TestDaemonOfFinishedJobLeavesNothing(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(shManifest, "daemonizer", "30s"),
		"run.sh":    "#!/bin/sh\nsetsid sh -c 'trap \"\" TERM HUP; sleep 4242006' </dev/null >/dev/null 2>&1 &\necho daemon started\nexit 0\n",
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	if pid := findProcess("4242006"); pid != "" {
		t.Errorf("the daemon (pid %s) survived its job", pid)
	}
	// h.run has already asserted that no cgroup, netns, mount or state
	// directory of the run remains.
}

func TestRunAuditRecordsSandboxIdentity(t *testing.T) {
	h := newHarness(t, nil)
	dir := h.bundle(trivialJob)

	run, _ := h.run(context.Background(), dir, "acme")

	events := h.events(run.ID)
	finished := events[len(events)-1]
	if finished.Type != "run.finished" {
		t.Fatalf("last event = %s, want run.finished", finished.Type)
	}
	d := finished.Details
	if d["seccomp_profile"] != seccomp.Version || d["seccomp_sha256"] != seccomp.SHA256() {
		t.Errorf("seccomp profile %v %v, want %s %s", d["seccomp_profile"], d["seccomp_sha256"], seccomp.Version, seccomp.SHA256())
	}
	if d["user_namespace"] != true {
		t.Errorf("user_namespace = %v, want true on this host", d["user_namespace"])
	}
	if fmt.Sprint(d["host_uid"]) == "0" || fmt.Sprint(d["host_uid"]) == fmt.Sprint(worker.JobUID) {
		t.Errorf("host_uid = %v, want an unprivileged mapped uid", d["host_uid"])
	}
	for _, key := range []string{"spec_sha256", "runtime_version", "kernel", "cpu_seconds", "peak_memory_bytes", "wall_ms"} {
		if d[key] == nil || d[key] == "" {
			t.Errorf("run.finished lacks %s: %v", key, d)
		}
	}
}
