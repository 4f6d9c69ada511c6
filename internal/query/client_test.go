package query

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// longQuery runs for minutes on one thread unless interrupted.
const longQuery = "SELECT count(*) AS n FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = -1"

// spillQuery sorts about 100 MB of rows, more than a 32 MiB memory limit
// holds.
const spillQuery = "SELECT count(*) AS n FROM (SELECT range, md5(range::VARCHAR) AS h FROM range(3000000) ORDER BY h)"

func codeOf(t *testing.T, err error) string {
	t.Helper()
	var qerr *Error
	if !errors.As(err, &qerr) {
		t.Fatalf("error %v (%T) is not a *query.Error", err, err)
	}
	return qerr.Code
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func enginePID(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.child == nil {
		return 0
	}
	return c.child.pid
}

func TestClientQueryView(t *testing.T) {
	f := newFixture(t)
	file := f.parquet(t, "public/ethereum.token_transfers/data.parquet",
		"SELECT * FROM (VALUES (1, 123456789012345678901234567890123456::DECIMAL(38,0)), (2, 5::DECIMAL(38,0))) t(block_number, value)")
	c := startTestClient(t, f.config(View{Name: "ethereum.token_transfers", Files: []string{file}}))

	var out bytes.Buffer
	stats, err := c.Query(context.Background(), "SELECT block_number, value FROM ethereum.token_transfers ORDER BY block_number", &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"block_number":1,"value":"123456789012345678901234567890123456"}` + "\n" + `{"block_number":2,"value":"5"}` + "\n"
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if stats.Rows != 2 || stats.Bytes != int64(len(want)) {
		t.Fatalf("stats = %+v, want 2 rows and %d bytes", stats, len(want))
	}
}

func TestClientErrorsAreTyped(t *testing.T) {
	f := newFixture(t)
	c := startTestClient(t, f.config())

	cases := map[string]string{
		"SELECT * FROM read_csv('/etc/passwd')": CodeAccessDenied,
		"SELECT 1; SELECT 2":                    CodeMultipleStatements,
		"CREATE TABLE t (a INT)":                CodeNotReadOnly,
		"SELECT nope":                           CodeInvalidSQL,
	}
	for sql, want := range cases {
		var out bytes.Buffer
		_, err := c.Query(context.Background(), sql, &out)
		if got := codeOf(t, err); got != want {
			t.Errorf("%s: code %q, want %q", sql, got, want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: wrote %q", sql, out.String())
		}
	}

	// Errors leave the engine usable.
	var out bytes.Buffer
	if _, err := c.Query(context.Background(), "SELECT 42 AS x", &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "{\"x\":42}\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestClientRowCap(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxRows = 5
	c := startTestClient(t, cfg)

	var out bytes.Buffer
	stats, err := c.Query(context.Background(), "SELECT range AS i FROM range(10)", &out)
	if got := codeOf(t, err); got != CodeResultTooLarge {
		t.Fatalf("code %q, want %q", got, CodeResultTooLarge)
	}
	if stats.Rows != 5 || strings.Count(out.String(), "\n") != 5 {
		t.Fatalf("stats %+v, output %q: want the first 5 rows", stats, out.String())
	}

	// Exactly the cap is fine.
	out.Reset()
	if _, err := c.Query(context.Background(), "SELECT range AS i FROM range(5)", &out); err != nil {
		t.Fatalf("5 rows with MaxRows 5: %v", err)
	}
}

func TestClientByteCap(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxBytes = 100
	c := startTestClient(t, cfg)

	// Each line is {"s":"xxxxxxxxxx"} plus a newline: 19 bytes.
	var out bytes.Buffer
	stats, err := c.Query(context.Background(), "SELECT repeat('x', 10) AS s FROM range(20)", &out)
	if got := codeOf(t, err); got != CodeResultTooLarge {
		t.Fatalf("code %q, want %q", got, CodeResultTooLarge)
	}
	if stats.Rows != 5 || stats.Bytes != 95 || out.Len() != 95 {
		t.Fatalf("stats %+v, %d bytes written: want 5 rows, 95 bytes", stats, out.Len())
	}
}

func TestClientTimeoutInterrupts(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.StatementTimeout = time.Second
	cfg.InterruptGrace = 20 * time.Second
	c := startTestClient(t, cfg)
	pid := enginePID(c)

	var out bytes.Buffer
	_, err := c.Query(context.Background(), longQuery, &out)
	if got := codeOf(t, err); got != CodeTimeout {
		t.Fatalf("code %q (%v), want %q", got, err, CodeTimeout)
	}

	// The interrupt worked, so the same engine runs the next query.
	if got := enginePID(c); got != pid {
		t.Fatalf("engine pid changed from %d to %d after an interrupted query", pid, got)
	}
	if _, err := c.Query(context.Background(), "SELECT 1 AS x", &out); err != nil {
		t.Fatalf("query after timeout: %v", err)
	}
}

func TestClientKillsEngineIgnoringInterrupts(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.StatementTimeout = 500 * time.Millisecond
	cfg.InterruptGrace = 500 * time.Millisecond
	c := startTestClient(t, cfg, ignoreInterruptsArg)
	pid := enginePID(c)

	var out bytes.Buffer
	_, err := c.Query(context.Background(), longQuery, &out)
	if got := codeOf(t, err); got != CodeTimeout {
		t.Fatalf("code %q (%v), want %q", got, err, CodeTimeout)
	}
	if processAlive(pid) {
		t.Fatalf("engine pid %d still runs after the kill", pid)
	}

	out.Reset()
	if _, err := c.Query(context.Background(), "SELECT 7 AS x", &out); err != nil {
		t.Fatalf("query after kill: %v", err)
	}
	if out.String() != "{\"x\":7}\n" {
		t.Fatalf("output %q", out.String())
	}
	if newPID := enginePID(c); newPID == pid || newPID == 0 {
		t.Fatalf("engine pid %d after restart, want a new process (old %d)", newPID, pid)
	}
}

func TestClientCancel(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.StatementTimeout = time.Minute
	cfg.InterruptGrace = 20 * time.Second
	c := startTestClient(t, cfg)
	pid := enginePID(c)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out bytes.Buffer
	_, err := c.Query(ctx, longQuery, &out)
	if got := codeOf(t, err); got != CodeCancelled {
		t.Fatalf("code %q (%v), want %q", got, err, CodeCancelled)
	}
	if got := enginePID(c); got != pid {
		t.Fatalf("engine pid changed from %d to %d after a cancelled query", pid, got)
	}
}

func TestClientRestartsCrashedEngine(t *testing.T) {
	f := newFixture(t)
	c := startTestClient(t, f.config())
	pid := enginePID(c)

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for processAlive(pid) {
		time.Sleep(10 * time.Millisecond)
	}
	// The process is reaped now. The client may notice the exit before the
	// query or only while sending it, so both outcomes are accepted below.
	var out bytes.Buffer
	_, err := c.Query(context.Background(), "SELECT 1 AS x", &out)
	if err != nil {
		// The crash raced the query: it fails once with engine_crashed.
		if got := codeOf(t, err); got != CodeEngineCrashed {
			t.Fatalf("code %q, want %q", got, CodeEngineCrashed)
		}
		out.Reset()
		if _, err := c.Query(context.Background(), "SELECT 1 AS x", &out); err != nil {
			t.Fatalf("second query after crash: %v", err)
		}
	}
	if out.String() != "{\"x\":1}\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestClientClose(t *testing.T) {
	f := newFixture(t)
	c := startTestClient(t, f.config())
	pid := enginePID(c)

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Fatalf("engine pid %d runs after Close", pid)
	}
	if _, err := c.Query(context.Background(), "SELECT 1", &bytes.Buffer{}); !errors.Is(err, errClosed) {
		t.Fatalf("query after Close: %v, want %v", err, errClosed)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestClientSpillLimit(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MemoryBytes = 32 << 20
	cfg.MaxTempBytes = 1 << 20
	cfg.StatementTimeout = time.Minute
	c := startTestClient(t, cfg)

	var out bytes.Buffer
	_, err := c.Query(context.Background(), spillQuery, &out)
	if got := codeOf(t, err); got != CodeOutOfMemory {
		t.Fatalf("code %q (%v), want %q", got, err, CodeOutOfMemory)
	}
	if strings.Contains(err.Error(), "SET ") || strings.Contains(err.Error(), "PRAGMA") {
		t.Fatalf("message suggests settings the job cannot change: %v", err)
	}
}

// TestClientSpills proves the temp directory still works after the
// lockdown: the same query as above succeeds with room to spill.
func TestClientSpills(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MemoryBytes = 32 << 20
	cfg.StatementTimeout = time.Minute
	c := startTestClient(t, cfg)

	var out bytes.Buffer
	if _, err := c.Query(context.Background(), spillQuery, &out); err != nil {
		t.Fatalf("query that needs to spill: %v", err)
	}
	if out.String() != "{\"n\":3000000}\n" {
		t.Fatalf("output %q", out.String())
	}
}

func TestStartRejectsInvalidConfig(t *testing.T) {
	f := newFixture(t)
	file := f.parquet(t, "public/x/data.parquet", "SELECT 1 AS a")

	cases := map[string]Config{
		"no temp dir":       {Views: []View{{Name: "x", Files: []string{file}}}},
		"relative temp dir": {TempDir: "spill"},
		"relative file":     {TempDir: f.tempDir, Views: []View{{Name: "x", Files: []string{"data.parquet"}}}},
		"unclean file":      {TempDir: f.tempDir, Views: []View{{Name: "x", Files: []string{f.dir + "/public/../public/x/data.parquet"}}}},
		"glob file":         {TempDir: f.tempDir, Views: []View{{Name: "x", Files: []string{f.dir + "/public/*/data.parquet"}}}},
		"bad view name":     {TempDir: f.tempDir, Views: []View{{Name: "X; DROP", Files: []string{file}}}},
		"duplicate view":    {TempDir: f.tempDir, Views: []View{{Name: "x", Files: []string{file}}, {Name: "x", Files: []string{file}}}},
		"view without file": {TempDir: f.tempDir, Views: []View{{Name: "x"}}},
		"negative limit":    {TempDir: f.tempDir, MaxRows: -1},
	}
	for name, cfg := range cases {
		if _, err := Start(context.Background(), cfg, "/nonexistent/moat"); err == nil {
			t.Errorf("%s: Start accepted the config", name)
		}
	}
}

func TestStartReportsSetupError(t *testing.T) {
	f := newFixture(t)
	file := f.parquet(t, "public/x/data.parquet", "SELECT 1 AS a")
	exe := mustExecutable(t)

	cases := map[string]View{
		"missing file":    {Name: "x", Files: []string{f.dir + "/missing.parquet"}},
		"reserved schema": {Name: "main.x", Files: []string{file}},
		"not parquet":     {Name: "x", Files: []string{exe}},
	}
	for name, view := range cases {
		_, err := Start(context.Background(), f.config(view), exe, childArg)
		if got := codeOf(t, err); got != CodeEngineError {
			t.Errorf("%s: code %q (%v), want %q", name, got, err, CodeEngineError)
		}
	}
}

// TestClientDistrustsEngine runs an engine that breaks the protocol, as one
// taken over through a DuckDB bug could: the client must keep its caps, kill
// the engine and start a fresh one.
func TestClientDistrustsEngine(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.MaxRows = 2
	c := startTestClient(t, cfg, lyingEngineArg)

	var out bytes.Buffer
	if _, err := c.Query(context.Background(), "rows 2", &out); err != nil {
		t.Fatalf("honest answer: %v", err)
	}

	for _, sql := range []string{"rows 5", "wrong id", "garbage"} {
		// An honest query first starts a fresh engine after the last kill.
		if _, err := c.Query(context.Background(), "rows 1", &bytes.Buffer{}); err != nil {
			t.Fatalf("honest answer before %q: %v", sql, err)
		}
		pid := enginePID(c)
		out.Reset()
		stats, err := c.Query(context.Background(), sql, &out)
		if got := codeOf(t, err); got != CodeEngineCrashed {
			t.Fatalf("%s: code %q (%v), want %q", sql, got, err, CodeEngineCrashed)
		}
		if stats.Rows > cfg.MaxRows || int64(strings.Count(out.String(), "\n")) > cfg.MaxRows {
			t.Fatalf("%s: %d rows written (%q), cap is %d", sql, stats.Rows, out.String(), cfg.MaxRows)
		}
		if processAlive(pid) {
			t.Fatalf("%s: engine pid %d still runs", sql, pid)
		}
	}
}
