package selftest_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/query/querytest"
	"github.com/moatdev/moat/internal/selftest"
	"github.com/moatdev/moat/internal/testutil"
)

// TestMain lets the test binary double as the query engine process: the
// runner starts it with the engine subcommand as its first argument.
func TestMain(m *testing.M) {
	flag.Parse()
	querytest.ServeIfEngine(embedded.QueryEngineCommand)
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

// maxFloodGrowth is how much moat's peak resident memory may rise above
// its level before a job that writes 50 MiB of output: the log is capped at
// 1 MiB and the pipe copiers' buffers are small.
const maxFloodGrowth = 4 << 20

func TestSuite(t *testing.T) {
	t.Run("runc", func(t *testing.T) {
		report := runSuite(t, "runc")
		assertFloodDidNotGrowMemory(t, report)
	})

	t.Run("runsc", func(t *testing.T) {
		runSuite(t, "runsc")
	})
}

// runSuite runs every attack on runtime and fails the test for each
// attack that did not pass.
func runSuite(t *testing.T, runtime string) selftest.Report {
	t.Helper()
	testutil.RequirePrivileged(t)
	runc := testutil.RuncPath(t)
	dir := t.TempDir()

	report, err := selftest.Run(context.Background(), selftest.Options{
		Runtime:      runtime,
		RuncPath:     runc,
		StateDir:     filepath.Join(dir, "state"),
		TempDir:      dir,
		QueryCommand: []string{os.Args[0], embedded.QueryEngineCommand},
		Log:          testLogger(),
	})
	if err != nil {
		t.Fatalf("run the suite on %s: %v", runtime, err)
	}

	for _, res := range report.Results {
		var line strings.Builder
		res.WriteLine(&line)
		if res.Pass {
			t.Log(strings.TrimSpace(line.String()))
			continue
		}
		t.Errorf("%s", line.String())
	}
	if want := len(selftest.Suite(runtime)); len(report.Results) != want {
		t.Errorf("report has %d results, want one for each of the %d attacks", len(report.Results), want)
	}
	return report
}

func assertFloodDidNotGrowMemory(t *testing.T, report selftest.Report) {
	t.Helper()
	res, ok := report.Result("stdout_flood")
	if !ok {
		t.Fatal("the report has no stdout_flood result")
	}
	if res.RSSBeforeBytes == 0 || res.RSSPeakBytes == 0 {
		t.Fatalf("resident memory not measured: VmRSS before %d, VmHWM during %d", res.RSSBeforeBytes, res.RSSPeakBytes)
	}
	growth := res.RSSPeakBytes - res.RSSBeforeBytes
	t.Logf("stdout_flood: VmRSS before %d bytes, VmHWM during %d bytes (%+d)", res.RSSBeforeBytes, res.RSSPeakBytes, growth)
	if growth > maxFloodGrowth {
		t.Errorf("moat's peak resident memory rose by %d bytes (%d to %d) while the job wrote 50 MiB, want at most %d",
			growth, res.RSSBeforeBytes, res.RSSPeakBytes, maxFloodGrowth)
	}
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
