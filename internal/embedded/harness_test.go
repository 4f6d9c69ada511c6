package embedded_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/catalog"
	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/embedded"
	"github.com/moatdev/moat/internal/query/querytest"
	"github.com/moatdev/moat/internal/store"
	"github.com/moatdev/moat/internal/testutil"
)

// TestMain lets the test binary double as the query engine process: the
// runner starts it with the engine subcommand as its first argument.
func TestMain(m *testing.M) {
	flag.Parse()
	if len(os.Args) > 1 && os.Args[1] == crashRunArg {
		if err := crashRun(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "crash run:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	querytest.ServeIfEngine(embedded.QueryEngineCommand)
	// Packages that log through slog.Default stay quiet unless -v.
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

// harness is a complete embedded moat on a temporary data directory.
type harness struct {
	t       testing.TB
	dataDir string
	cfg     config.Config
	store   *store.SQLite
	audit   *audit.Recorder
	runner  *embedded.Runner
}

func newHarness(t testing.TB, edit func(*config.Config)) *harness {
	t.Helper()
	return newHarnessOn(t, "runc", edit)
}

// newHarnessOn is newHarness with the named sandbox backend.
func newHarnessOn(t testing.TB, runtime string, edit func(*config.Config)) *harness {
	t.Helper()
	testutil.RequirePrivileged(t)
	runc := testutil.RuncPath(t)
	shared := testutil.SharedData(t)

	dir := t.TempDir()
	cfg := config.Default(dir)
	cfg.StateDir = filepath.Join(dir, "state")
	cfg.RuncPath = runc
	cfg.SharedData = shared
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "moat.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() || os.Getenv("MOAT_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	rec := &audit.Recorder{Store: st, Log: logger}

	runner, err := embedded.New(embedded.Options{
		Config: cfg, Store: st, Audit: rec, Log: logger,
		QueryCommand: []string{os.Args[0], embedded.QueryEngineCommand},
		Runtime:      runtime,
	})
	if err != nil {
		t.Fatalf("new runner: %v", err)
	}

	h := &harness{t: t, dataDir: dir, cfg: cfg, store: st, audit: rec, runner: runner}
	for _, org := range []string{"acme", "globex"} {
		if _, err := st.EnsureOrg(ctx, "admin", org); err != nil {
			t.Fatalf("create org %s: %v", org, err)
		}
	}
	if err := st.EnsurePrincipal(ctx, "system", store.Principal{Name: "admin", Role: store.RolePlatformAdmin}); err != nil {
		t.Fatalf("create principal: %v", err)
	}
	return h
}

func (h *harness) catalog() *catalog.Catalog {
	return &catalog.Catalog{DataDir: h.dataDir, SharedData: h.cfg.SharedData, Store: h.store, Audit: h.audit}
}

// importCSV imports an org dataset from CSV text.
func (h *harness) importCSV(org, name, schema, csv string) {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), name+".csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		h.t.Fatal(err)
	}
	_, err := h.catalog().Import(context.Background(), catalog.Request{
		Name: name, File: path, Org: org, Schema: schema, Actor: "admin",
	})
	if err != nil {
		h.t.Fatalf("import %s for %s: %v", name, org, err)
	}
}

// importPlatform imports a public platform dataset from the shared data.
func (h *harness) importPlatform(name string) {
	h.t.Helper()
	if _, err := h.catalog().Import(context.Background(), catalog.Request{Name: name, Actor: "admin"}); err != nil {
		h.t.Fatalf("import %s: %v", name, err)
	}
}

// bundle writes a job bundle from file contents into a new directory.
func (h *harness) bundle(files map[string]string) string {
	h.t.Helper()
	dir := h.t.TempDir()
	writeFiles(h.t, dir, files)
	return dir
}

// writeFiles writes files under dir; names ending in .sh are executable.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// run executes a bundle for org and returns the finished run and its log.
func (h *harness) run(ctx context.Context, dir, org string) (store.Run, string) {
	h.t.Helper()
	var out strings.Builder
	run, err := h.runner.Run(ctx, dir, org, "admin", &syncWriter{w: &out})
	if err != nil {
		h.t.Fatalf("run: %v", err)
	}
	h.assertNothingLeft(run.ID)
	return run, out.String()
}

// events returns the audit events of a run.
func (h *harness) events(runID string) []store.Event {
	h.t.Helper()
	events, err := h.store.ListAudit(context.Background(), store.AuditFilter{RunID: runID})
	if err != nil {
		h.t.Fatal(err)
	}
	return events
}

// assertNothingLeft checks that no container, cgroup, netns, mount or
// state directory of the run remains.
func (h *harness) assertNothingLeft(runID string) {
	h.t.Helper()

	if _, err := os.Stat("/var/run/netns/moat-" + runID); !os.IsNotExist(err) {
		h.t.Errorf("network namespace moat-%s still exists (stat error %v)", runID, err)
	}

	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		for _, p := range []string{
			filepath.Join("/sys/fs/cgroup", e.Name(), "moat", runID),
			filepath.Join("/sys/fs/cgroup", e.Name(), "moat-runsc", runID),
		} {
			if _, err := os.Stat(p); err == nil {
				h.t.Errorf("cgroup %s still exists", p)
			}
		}
	}

	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		h.t.Fatal(err)
	}
	if strings.Contains(string(mounts), runID) {
		h.t.Errorf("a mount of run %s remains in /proc/self/mountinfo", runID)
	}

	stateHits, _ := filepath.Glob(filepath.Join(h.cfg.StateDir, "*", runID))
	if len(stateHits) > 0 {
		h.t.Errorf("state directories of run %s remain: %v", runID, stateHits)
	}
}

// syncWriter serialises writes from the job's stdout and stderr copiers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
