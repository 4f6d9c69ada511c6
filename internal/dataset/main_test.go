package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/moatdev/moat/internal/duck"
	"github.com/moatdev/moat/internal/query"
	"github.com/moatdev/moat/internal/testutil"
)

// engineArg makes the test binary act as the query engine process.
const engineArg = "__query-engine-test-child"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == engineArg {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
		if err := query.Serve(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "query engine:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// sharedData returns the directory of the Ethereum sample data, or skips
// (fails under 'make test') when it is absent.
func sharedData(t *testing.T) string {
	t.Helper()
	return testutil.SharedData(t)
}

// queryParquet runs one query over an imported file in a plain DuckDB and
// returns the first column of the single result row as text.
func queryParquet(t *testing.T, file, selectSQL string) string {
	t.Helper()
	ctx := context.Background()
	db, conn, err := duck.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer conn.Close()

	path, err := duck.QuoteString(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE VIEW t AS SELECT * FROM read_parquet("+path+")"); err != nil {
		t.Fatal(err)
	}
	var out sql.NullString
	if err := conn.QueryRowContext(ctx, selectSQL).Scan(&out); err != nil {
		t.Fatalf("%s: %v", selectSQL, err)
	}
	return out.String
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
