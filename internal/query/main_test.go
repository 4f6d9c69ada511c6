package query

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/duck"
)

// childArg makes the test binary act as the engine process, the way
// "moat __query-engine" does in production.
const childArg = "__query-engine-test-child"

// ignoreInterruptsArg additionally sets testOnlyIgnoreInterrupts.
const ignoreInterruptsArg = "ignore-interrupts"

// lyingEngineArg runs fakeEngine instead of Serve: an engine that a hostile
// query has taken over.
const lyingEngineArg = "lying-engine"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		os.Exit(runTestChild(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func runTestChild(args []string) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))

	// Start promises the engine an empty environment; fail loudly if it
	// ever inherits one.
	if env := os.Environ(); len(env) != 0 {
		fmt.Fprintf(os.Stderr, "query engine inherited an environment: %q\n", env)
		return 3
	}
	if len(args) > 0 && args[0] == ignoreInterruptsArg {
		testOnlyIgnoreInterrupts = true
	}
	if len(args) > 0 && args[0] == lyingEngineArg {
		return fakeEngine()
	}

	if err := Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "query engine:", err)
		return 1
	}
	return 0
}

// fixture is a set of Parquet files written for one test.
type fixture struct {
	dir     string
	tempDir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	tempDir := filepath.Join(dir, "spill")
	if err := os.Mkdir(tempDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, tempDir: tempDir}
}

// parquet writes the result of selectSQL to a Parquet file under the
// fixture directory and returns its path.
func (f *fixture) parquet(t *testing.T, rel, selectSQL string) string {
	t.Helper()
	path := filepath.Join(f.dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	db, conn, err := duck.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer conn.Close()

	target, err := duck.QuoteString(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "COPY ("+selectSQL+") TO "+target+" (FORMAT parquet)"); err != nil {
		t.Fatalf("write fixture %s: %v", rel, err)
	}
	return path
}

func (f *fixture) config(views ...View) Config {
	return Config{Views: views, TempDir: f.tempDir}
}

// openTestEngine opens an engine in this process, for tests of the
// lockdown and of statement checks that need no child.
func openTestEngine(t *testing.T, cfg Config) *engine {
	t.Helper()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	e, err := openEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

// runLines runs sql on e and returns the JSON lines and the error.
func runLines(t *testing.T, e *engine, sql string) ([]string, *Error) {
	t.Helper()
	var lines []string
	_, qerr := e.run(context.Background(), sql, func(row []byte) error {
		lines = append(lines, string(row))
		return nil
	})
	return lines, qerr
}

// startTestClient starts an engine child from this test binary.
func startTestClient(t *testing.T, cfg Config, extraArgs ...string) *Client {
	t.Helper()
	exe := mustExecutable(t)
	args := append([]string{childArg}, extraArgs...)
	c, err := Start(context.Background(), cfg, exe, args...)
	if err != nil {
		t.Fatalf("start query engine: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// fakeEngine sends a ready frame for the config and then responds to each
// query by its SQL text: "rows N" sends N rows and a done frame that claims
// N rows, "wrong id" sends a done frame for another query id, and "garbage"
// sends a line that is not JSON.
func fakeEngine() int {
	frames := newFrameReader(os.Stdin, maxRequestFrame)
	for {
		line, err := frames.next()
		if err != nil {
			return 0
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil {
			return 1
		}

		switch {
		case req.Type == frameConfig:
			_ = writeFrame(os.Stdout, response{Type: frameReady})
		case strings.HasPrefix(req.SQL, "rows "):
			n, _ := strconv.Atoi(strings.TrimPrefix(req.SQL, "rows "))
			var bytes int64
			for i := 0; i < n; i++ {
				row := []byte(fmt.Sprintf(`{"i":%d}`, i))
				bytes += int64(len(row)) + 1
				_ = writeFrame(os.Stdout, response{Type: frameRow, ID: req.ID, Row: row})
			}
			_ = writeFrame(os.Stdout, response{Type: frameDone, ID: req.ID, Rows: int64(n), Bytes: bytes})
		case req.SQL == "wrong id":
			_ = writeFrame(os.Stdout, response{Type: frameDone, ID: req.ID + 1})
		case req.SQL == "garbage":
			fmt.Fprintln(os.Stdout, "this is not a frame")
		}
	}
}
