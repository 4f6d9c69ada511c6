package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Environment of helper processes started by runHelpers.
const (
	envHelperMode = "MOAT_STORE_TEST_HELPER"
	envHelperDB   = "MOAT_STORE_TEST_DB"
	envHelperID   = "MOAT_STORE_TEST_WORKER"
	envHelperAt   = "MOAT_STORE_TEST_START_UNIX_NANO"
)

const helperAppends = 100

// TestHelperProcess is not a test: runHelpers starts the test binary again
// with only this test selected, and the environment selects what it does.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelperMode)
	if mode == "" {
		return
	}

	// Start together with the other helpers so their work overlaps.
	at, _ := strconv.ParseInt(os.Getenv(envHelperAt), 10, 64)
	time.Sleep(time.Until(time.Unix(0, at)))

	if err := runHelper(mode, os.Getenv(envHelperDB), os.Getenv(envHelperID)); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", os.Getenv(envHelperID), err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHelper(mode, path, worker string) error {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()

	switch mode {
	case "open":
		_, err := s.EnsureOrg(ctx, "worker"+worker, "acme")
		return err
	case "append":
		return appendAndCreateRuns(ctx, s, worker)
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

func appendAndCreateRuns(ctx context.Context, s *SQLite, worker string) error {
	n, err := strconv.Atoi(worker)
	if err != nil {
		return err
	}

	for i := range helperAppends {
		_, err := s.AppendAudit(ctx, Event{Type: "run.queued", Actor: "worker" + worker, Org: "acme",
			Decision: "info", Details: map[string]any{"worker": n, "i": i}})
		if err != nil {
			return fmt.Errorf("append %d: %w", i, err)
		}

		id := fmt.Sprintf("r-%08x%08x", n, i)
		if err := s.CreateRun(ctx, Run{ID: id, Org: "acme", Job: "watch", Actor: "worker" + worker}); err != nil {
			return fmt.Errorf("create run %q: %w", id, err)
		}
	}
	return nil
}

// runHelpers starts n helper processes on the database at path, lets them
// start their work at the same moment, and fails the test if any fails.
func runHelpers(t *testing.T, mode, path string, n int) {
	t.Helper()
	startAt := time.Now().Add(time.Second).UnixNano()

	cmds := make([]*exec.Cmd, n)
	outs := make([]*lockedBuffer, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			envHelperMode+"="+mode,
			envHelperDB+"="+path,
			envHelperID+"="+strconv.Itoa(i+1),
			envHelperAt+"="+strconv.FormatInt(startAt, 10))
		outs[i] = &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i+1, err)
		}
		cmds[i] = cmd
	}

	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d failed: %v\n%s", i+1, err, outs[i].String())
		}
	}
}

func TestConcurrentProcessesAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	s := openAt(t, path)
	seedJob(t, s, "acme")

	const workers = 3
	runHelpers(t, "append", path, workers)

	ctx := context.Background()
	events, err := s.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != workers*helperAppends {
		t.Fatalf("%d audit events, want %d", len(events), workers*helperAppends)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: seqs are not contiguous", i, e.Seq)
		}
	}

	checked, err := s.VerifyChain(ctx)
	if err != nil || checked != workers*helperAppends {
		t.Fatalf("VerifyChain = %d, %v; want %d, nil", checked, err, workers*helperAppends)
	}

	runs, err := s.ListRuns(ctx, RunFilter{Org: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != workers*helperAppends {
		t.Errorf("%d runs, want %d", len(runs), workers*helperAppends)
	}

	perWorker := map[string]int{}
	for _, e := range events {
		perWorker[e.Actor]++
	}
	for w := 1; w <= workers; w++ {
		if got := perWorker[fmt.Sprintf("worker%d", w)]; got != helperAppends {
			t.Errorf("worker%d has %d events, want %d", w, got, helperAppends)
		}
	}
}

func TestConcurrentOpenFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fresh", "moat.db")

	const workers = 4
	runHelpers(t, "open", path, workers)

	s := openAt(t, path)
	var versions, rows int
	if err := s.db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(migrations) || versions != len(migrations) {
		t.Errorf("schema_migrations has %d rows for %d versions, want each of %d once", rows, versions, len(migrations))
	}

	o, err := s.GetOrg(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "acme" {
		t.Errorf("org = %+v", o)
	}
}

// lockedBuffer collects a helper process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
