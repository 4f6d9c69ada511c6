package query

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lockdownFixture grants one dataset ("ethereum.token_transfers") and
// writes a second org's "watchlist" file that is not granted.
func lockdownFixture(t *testing.T) (*engine, string, string) {
	t.Helper()
	f := newFixture(t)
	granted := f.parquet(t, "public/ethereum.token_transfers/data.parquet",
		"SELECT 1 AS block_number, 123456789012345678901234567890123456::DECIMAL(38,0) AS value")
	other := f.parquet(t, "org=other/watchlist/data.parquet", "SELECT 'secret' AS address")
	e := openTestEngine(t, f.config(View{Name: "ethereum.token_transfers", Files: []string{granted}}))
	return e, granted, other
}

func TestLockdownViewsStillWork(t *testing.T) {
	e, granted, _ := lockdownFixture(t)

	lines, qerr := runLines(t, e, "SELECT * FROM ethereum.token_transfers")
	if qerr != nil {
		t.Fatalf("query view: %v", qerr)
	}
	want := `{"block_number":1,"value":"123456789012345678901234567890123456"}`
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("view rows = %q, want [%s]", lines, want)
	}

	// The granted file itself may also be named directly.
	lines, qerr = runLines(t, e, "SELECT count(*) AS n FROM read_parquet('"+granted+"')")
	if qerr != nil {
		t.Fatalf("read granted file by path: %v", qerr)
	}
	if len(lines) != 1 || lines[0] != `{"n":1}` {
		t.Fatalf("granted file rows = %q", lines)
	}
}

func TestLockdownDeniesOtherFiles(t *testing.T) {
	e, granted, other := lockdownFixture(t)
	dir := filepath.Dir(filepath.Dir(filepath.Dir(other)))
	outside := filepath.Join(t.TempDir(), "out.csv")

	cases := []struct {
		name string
		sql  string
		code string
	}{
		{"other org parquet", "SELECT * FROM read_parquet('" + other + "')", CodeAccessDenied},
		{"other org by replacement scan", "SELECT * FROM '" + other + "'", CodeAccessDenied},
		{"missing file", "SELECT * FROM read_parquet('" + dir + "/org=other/nothing/data.parquet')", CodeAccessDenied},
		{"glob over the data dir", "SELECT * FROM read_parquet('" + dir + "/*/*/*.parquet')", CodeAccessDenied},
		{"glob function", "SELECT * FROM glob('" + dir + "/**')", CodeAccessDenied},
		{"glob of granted dir", "SELECT * FROM glob('" + filepath.Dir(granted) + "/*')", CodeAccessDenied},
		{"list with granted and other", "SELECT * FROM read_parquet(['" + granted + "', '" + other + "'])", CodeAccessDenied},
		{"parquet metadata", "SELECT * FROM parquet_metadata('" + other + "')", CodeAccessDenied},
		{"read_csv passwd", "SELECT * FROM read_csv('/etc/passwd')", CodeAccessDenied},
		{"read_text passwd", "SELECT * FROM read_text('/etc/passwd')", CodeAccessDenied},
		{"read_blob passwd", "SELECT * FROM read_blob('/etc/passwd')", CodeAccessDenied},
		{"sniff_csv passwd", "SELECT * FROM sniff_csv('/etc/passwd')", CodeAccessDenied},
		{"temp dir traversal", "SELECT * FROM read_parquet('" + e.cfg.TempDir + "/../../" + strings.TrimPrefix(other, filepath.Dir(filepath.Dir(e.cfg.TempDir))+"/") + "')", CodeAccessDenied},
		{"temp dir traversal to passwd", "SELECT * FROM read_text('" + e.cfg.TempDir + "/../../../../../../../../etc/passwd')", CodeAccessDenied},
		{"granted file traversal", "SELECT * FROM read_parquet('" + granted + "/../../../org=other/watchlist/data.parquet')", CodeAccessDenied},
		{"url", "SELECT * FROM read_parquet('https://example.invalid/x.parquet')", CodeAccessDenied},
		{"query function with attach", "SELECT * FROM query('ATTACH ''" + outside + "''')", CodeInvalidSQL},
		{"attach", "ATTACH '" + outside + "' AS x", CodeNotReadOnly},
		{"copy to", "COPY (SELECT 1) TO '" + outside + "'", CodeNotReadOnly},
		{"install", "INSTALL httpfs", CodeNotReadOnly},
		{"load", "LOAD httpfs", CodeNotReadOnly},
		{"set", "SET enable_external_access = true", CodeNotReadOnly},
		{"reset", "RESET lock_configuration", CodeNotReadOnly},
		{"pragma", "PRAGMA version", CodeNotReadOnly},
		{"call", "CALL pragma_version()", CodeNotReadOnly},
		{"create table", "CREATE TABLE t AS SELECT 1", CodeNotReadOnly},
		{"export", "EXPORT DATABASE '" + filepath.Dir(outside) + "'", CodeNotReadOnly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines, qerr := runLines(t, e, tc.sql)
			if qerr == nil {
				t.Fatalf("%s: succeeded with %d rows, want %s", tc.sql, len(lines), tc.code)
			}
			if qerr.Code != tc.code {
				t.Fatalf("%s: code %q (%s), want %q", tc.sql, qerr.Code, qerr.Message, tc.code)
			}
		})
	}

	if _, err := os.Stat(outside); !os.IsNotExist(err) {
		t.Errorf("a statement created %s", outside)
	}
}

// TestLockdownHoldsWithoutStatementChecks runs the dangerous statements
// straight on the connection, past the keyword and statement type checks,
// to prove the DuckDB settings stop them on their own.
func TestLockdownHoldsWithoutStatementChecks(t *testing.T) {
	e, _, other := lockdownFixture(t)
	outside := filepath.Join(t.TempDir(), "out")

	statements := []string{
		"SELECT * FROM read_parquet('" + other + "')",
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM glob('/*')",
		"ATTACH '" + outside + ".db' AS x",
		"COPY (SELECT 1) TO '" + outside + ".csv'",
		"EXPORT DATABASE '" + outside + "'",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET enable_external_access = true",
		"SET allowed_paths = ['" + other + "']",
		"SET allowed_directories = ['/']",
		"SET lock_configuration = false",
		"RESET lock_configuration",
		"PRAGMA enable_external_access",
		"SET memory_limit = '100GB'",
		"SET threads = 64",
		"SET temp_directory = '" + outside + "'",
	}
	for _, s := range statements {
		if err := e.exec(context.Background(), s); err == nil {
			t.Errorf("%s: succeeded on the locked-down connection", s)
		}
	}

	if err := e.verifyLockdown(context.Background()); err != nil {
		t.Fatalf("lockdown changed after the attempts: %v", err)
	}
	matches, _ := filepath.Glob(outside + "*")
	if len(matches) != 0 {
		t.Errorf("statements created %q", matches)
	}
}

func TestLockdownMessageHidesHostPaths(t *testing.T) {
	f := newFixture(t)
	good := f.parquet(t, "public/good/data.parquet", "SELECT 1 AS x")
	e := openTestEngine(t, f.config(View{Name: "good", Files: []string{good}}))

	// A granted file that is not Parquet makes DuckDB name its path. The
	// content is swapped after the view exists.
	if err := os.WriteFile(good, []byte("not parquet at all, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, qerr := runLines(t, e, "SELECT * FROM good")
	if qerr == nil {
		t.Fatal("query over a corrupt file succeeded")
	}
	if strings.Contains(qerr.Message, f.dir) {
		t.Fatalf("message leaks the host path %q: %s", f.dir, qerr.Message)
	}
	if !strings.Contains(qerr.Message, "<file of dataset good>") {
		t.Fatalf("message does not name the dataset: %s", qerr.Message)
	}
}

func TestLockdownSameAnswerForExistingAndMissingFiles(t *testing.T) {
	e, _, other := lockdownFixture(t)
	missing := strings.Replace(other, "watchlist", "no_such_dataset", 1)

	_, existingErr := runLines(t, e, "SELECT * FROM read_parquet('"+other+"')")
	_, missingErr := runLines(t, e, "SELECT * FROM read_parquet('"+missing+"')")
	if existingErr == nil || missingErr == nil {
		t.Fatalf("reads succeeded: existing %v, missing %v", existingErr, missingErr)
	}
	// Only the path the query named may differ. Any other difference would
	// tell a job which other datasets exist.
	a := strings.ReplaceAll(existingErr.Message, other, "PATH")
	b := strings.ReplaceAll(missingErr.Message, missing, "PATH")
	if existingErr.Code != missingErr.Code || a != b {
		t.Fatalf("answers differ:\n%s: %s\n%s: %s", existingErr.Code, a, missingErr.Code, b)
	}
}

func TestEngineStatementChecks(t *testing.T) {
	e, _, _ := lockdownFixture(t)

	rejected := map[string]string{
		"SELECT 1; SELECT 2":                          CodeMultipleStatements,
		"SELECT 1; CREATE TABLE smuggled AS SELECT 1": CodeMultipleStatements,
		"":                                   CodeMultipleStatements,
		" ; -- nothing":                      CodeMultipleStatements,
		"INSERT INTO t VALUES (1)":           CodeNotReadOnly,
		"UPDATE t SET a = 1":                 CodeNotReadOnly,
		"DELETE FROM t":                      CodeNotReadOnly,
		"DROP VIEW ethereum.token_transfers": CodeNotReadOnly,
		"SELEC 1":                            CodeNotReadOnly,
		"SELECT * FROM nope":                 CodeInvalidSQL,
		"SELECT FROM WHERE":                  CodeInvalidSQL,
		"SELECT ?":                           CodeInvalidSQL,
		"SELECT 1/0::INTEGER + 'x'::INTEGER": CodeQueryFailed,
	}
	for sql, code := range rejected {
		_, qerr := runLines(t, e, sql)
		if qerr == nil {
			t.Errorf("%q: succeeded, want %s", sql, code)
			continue
		}
		if qerr.Code != code {
			t.Errorf("%q: code %q (%s), want %q", sql, qerr.Code, qerr.Message, code)
		}
	}

	// The first of two statements must not have run.
	var n int
	err := e.conn.QueryRowContext(context.Background(), "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'smuggled'").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the first statement of a rejected multi-statement request ran")
	}

	accepted := []string{
		"SELECT 1",
		"select 1;",
		"WITH a AS (SELECT 1 AS x) SELECT * FROM a",
		"FROM ethereum.token_transfers SELECT block_number",
		"VALUES (1), (2)",
		"TABLE ethereum.token_transfers",
		"DESCRIBE ethereum.token_transfers",
		"SHOW TABLES",
		"SUMMARIZE ethereum.token_transfers",
		"EXPLAIN SELECT * FROM ethereum.token_transfers",
		"EXPLAIN ANALYZE SELECT count(*) FROM ethereum.token_transfers",
		"PIVOT ethereum.token_transfers ON block_number IN (1) USING count(*)",
		"(SELECT 1) UNION ALL (SELECT 2)",
	}
	for _, sql := range accepted {
		if _, qerr := runLines(t, e, sql); qerr != nil {
			t.Errorf("%q: %v", sql, qerr)
		}
	}
}
