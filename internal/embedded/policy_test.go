package embedded_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/worker"
)

func TestRunKilledByPolicyAfterDenials(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Gateway.MaxDenials = 5 })
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "prober", "", "", "64Mi"),
		"main.py": `
import time, moat_job
for i in range(100):
    try:
        moat_job.query("select * from read_parquet('/var/lib/moat/datasets/org=globex/watchlist/data.parquet')")
    except moat_job.GatewayError as e:
        print("denied", i, e.code, flush=True)
time.sleep(60)
`,
	})

	run, out := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseKilledByPolicy {
		t.Fatalf("cause = %q, want killed_by_policy (reason %q, output %q)", run.Cause, run.Reason, out)
	}
	if !strings.Contains(run.Reason, "more than 5 rejected gateway requests") {
		t.Errorf("reason %q does not state the policy", run.Reason)
	}
	if got := worker.ExitCode(run.Cause, run.ExitCode); got != 105 {
		t.Errorf("moat run exit status = %d, want 105", got)
	}

	types := eventTypes(h.events(run.ID))
	if !strings.Contains(types, "policy.violation") {
		t.Errorf("audit events %s lack policy.violation", types)
	}
	if !strings.HasSuffix(types, "run.finished") {
		t.Errorf("audit events %s do not end with run.finished", types)
	}
}

func TestRunLogFloodIsCapped(t *testing.T) {
	const capBytes = 64 << 10
	h := newHarness(t, func(c *config.Config) {
		c.LogMaxBytes = capBytes
		c.LogLinesPerSecond = 1000
	})
	dir := h.bundle(map[string]string{
		"moat.yaml": fmt.Sprintf(pyManifest, "flood", "", "", "64Mi"),
		"main.py": `
import sys
line = "x" * 100 + "\n"
for _ in range(200000):
    sys.stdout.write(line)
print("done", file=sys.stderr)
`,
	})

	run, _ := h.run(context.Background(), dir, "acme")

	if run.Cause != worker.CauseSucceeded {
		t.Fatalf("cause = %q, want succeeded (reason %q)", run.Cause, run.Reason)
	}
	if !run.LogTruncated {
		t.Error("a 20 MB flood did not mark the log truncated")
	}
	data, err := os.ReadFile(run.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > capBytes+200 {
		t.Errorf("log is %d bytes, want at most the cap %d plus a marker", len(data), capBytes)
	}
	if !strings.Contains(string(data), "[moat: dropped ") && !strings.Contains(string(data), "[moat: log truncated") {
		t.Errorf("the log does not mark what was dropped:\n%s", data[len(data)-300:])
	}

	events := h.events(run.ID)
	last := events[len(events)-1]
	if fmt.Sprint(last.Details["log_truncated"]) != "true" {
		t.Errorf("run.finished details %v do not record log_truncated", last.Details)
	}
	if fmt.Sprint(last.Details["log_dropped_lines"]) == "0" {
		t.Errorf("run.finished details %v record no dropped lines for a flood above the line rate", last.Details)
	}
}
