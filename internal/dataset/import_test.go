package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/duck"
	"github.com/moatdev/moat/internal/store"
)

// uint256 is 2^256 - 1, a 78-digit value that fits no DECIMAL.
const uint256 = "115792089237316195423570985008687907853269984665640564039457584007913129639935"

func mustSchema(t *testing.T, s string) []store.Column {
	t.Helper()
	schema, err := ParseSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

func TestImportUint256IntoDecimalFails(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "transfers.csv", "id,value\n1,5\n2,"+uint256+"\n")
	dst := filepath.Join(dir, "out")

	_, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "id BIGINT, value DECIMAL(38,0)")}, dst)
	if err == nil {
		t.Fatal("a 78-digit value was imported as DECIMAL(38,0)")
	}
	for _, want := range []string{`column "value"`, uint256, "DECIMAL(38,0)", "VARCHAR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dst, DataFile)); !os.IsNotExist(statErr) {
		t.Errorf("a failed import left %s", DataFile)
	}
}

func TestImportUint256AsVarcharIsExact(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "transfers.csv", "id,value\n1,5\n2,"+uint256+"\n")
	dst := filepath.Join(dir, "out")

	result, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "id BIGINT, value VARCHAR")}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if result.Rows != 2 {
		t.Fatalf("rows = %d, want 2", result.Rows)
	}
	file := filepath.Join(dst, DataFile)
	if got := queryParquet(t, file, "SELECT value FROM t WHERE id = 2"); got != uint256 {
		t.Fatalf("value = %s, want %s", got, uint256)
	}
	if got := queryParquet(t, file, "SELECT max(value::BIGNUM)::VARCHAR FROM t"); got != uint256 {
		t.Fatalf("max(value::BIGNUM) = %s, want %s", got, uint256)
	}
}

func TestImportRejectsInexactNumbers(t *testing.T) {
	cases := []struct {
		name, schema, good, value string
	}{
		{"fraction into integer", "v BIGINT", "1", "1.5"},
		{"exponent into decimal", "v DECIMAL(38,0)", "1", "1e18"},
		{"too many fraction digits", "v DECIMAL(10,2)", "1.05", "1.005"},
		{"too many whole digits", "v DECIMAL(4,2)", "12.34", "123.4"},
		{"bigint overflow", "v BIGINT", "1", "9223372036854775808"},
		{"negative unsigned", "v UBIGINT", "1", "-1"},
		{"text into integer", "v INTEGER", "1", "abc"},
		{"not a date", "v DATE", "2020-01-01", "yesterday"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := writeFile(t, dir, "in.csv", "v\n"+tc.good+"\n"+tc.value+"\n")
			_, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, tc.schema)}, filepath.Join(dir, "out"))
			if err == nil {
				t.Fatalf("%q imported as %s", tc.value, tc.schema)
			}
			if !strings.Contains(err.Error(), `column "v"`) || !strings.Contains(err.Error(), tc.value) {
				t.Fatalf("error %q does not name the column and the value", err)
			}
		})
	}
}

func TestImportConversions(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "in.csv",
		"a,n,d,ts,tz,flag\n"+
			"x,,1.50,1488769200,2017-03-06 03:00:00+00,true\n"+
			",007,-0.5,2020-01-02 03:04:05,1488769200,false\n")
	schema := mustSchema(t, "a VARCHAR, n INTEGER, d DECIMAL(10,2), ts TIMESTAMP, tz TIMESTAMPTZ, flag BOOLEAN")
	dst := filepath.Join(dir, "out")

	if _, err := Import(context.Background(), Source{Path: src, Schema: schema}, dst); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dst, DataFile)
	checks := map[string]string{
		// Empty CSV fields are NULL, in text and numeric columns alike.
		"SELECT count(*)::VARCHAR FROM t WHERE a IS NULL":                        "1",
		"SELECT count(*)::VARCHAR FROM t WHERE n IS NULL":                        "1",
		"SELECT max(n)::VARCHAR FROM t":                                          "7",
		"SELECT string_agg(d::VARCHAR, ' ' ORDER BY d) FROM t":                   "-0.50 1.50",
		"SELECT min(ts)::VARCHAR FROM t":                                         "2017-03-06 03:00:00",
		"SELECT max(ts)::VARCHAR FROM t":                                         "2020-01-02 03:04:05",
		"SELECT count(DISTINCT epoch(tz))::VARCHAR FROM t":                       "1",
		"SELECT string_agg(typeof(flag), ',') FROM (SELECT flag FROM t LIMIT 1)": "BOOLEAN",
	}
	for q, want := range checks {
		if got := queryParquet(t, file, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
}

func TestImportJSONLines(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "logs.jsonl",
		`{"block": 15000000, "value": `+uint256+`, "wei": 123456789012345678901234567890123456, "label": "a"}`+"\n"+
			`{"block": 15000001, "value": "7", "wei": "", "label": null}`+"\n")
	schema := mustSchema(t, "block BIGINT, value VARCHAR, wei DECIMAL(38,0), label VARCHAR")
	dst := filepath.Join(dir, "out")

	result, err := Import(context.Background(), Source{Path: src, Schema: schema}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if result.Rows != 2 {
		t.Fatalf("rows = %d, want 2", result.Rows)
	}
	file := filepath.Join(dst, DataFile)
	checks := map[string]string{
		"SELECT value FROM t WHERE block = 15000000":                          uint256,
		"SELECT wei::VARCHAR FROM t WHERE block = 15000000":                   "123456789012345678901234567890123456",
		"SELECT count(*)::VARCHAR FROM t WHERE wei IS NULL":                   "1",
		"SELECT count(*)::VARCHAR FROM t WHERE label IS NULL":                 "1",
		"SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM t)": "block,value,wei,label",
	}
	for q, want := range checks {
		if got := queryParquet(t, file, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}

	// The same 78-digit JSON number cannot become a DECIMAL.
	_, err = Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "block BIGINT, value DECIMAL(38,0), wei DECIMAL(38,0), label VARCHAR")}, filepath.Join(dir, "out2"))
	if err == nil || !strings.Contains(err.Error(), uint256) {
		t.Fatalf("78-digit JSON number as DECIMAL(38,0): %v", err)
	}
}

func TestImportParquet(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.parquet")
	writeParquet(t, src, "SELECT 1::BIGINT AS id, 123456789012345678901234567890123456::DECIMAL(38,0) AS wei, 1.5::DOUBLE AS ratio, '42' AS text_number")

	schema := mustSchema(t, "id INTEGER, wei DECIMAL(38,0), ratio DOUBLE, text_number BIGINT")
	dst := filepath.Join(dir, "out")
	if _, err := Import(context.Background(), Source{Path: src, Schema: schema}, dst); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dst, DataFile)
	if got := queryParquet(t, file, "SELECT wei::VARCHAR FROM t"); got != "123456789012345678901234567890123456" {
		t.Errorf("wei = %s", got)
	}
	if got := queryParquet(t, file, "SELECT typeof(id) || ' ' || typeof(text_number) || ' ' || text_number FROM t"); got != "INTEGER BIGINT 42" {
		t.Errorf("types = %s", got)
	}

	// A DOUBLE has already lost precision; it cannot become a DECIMAL.
	_, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "id INTEGER, wei DECIMAL(38,0), ratio DECIMAL(10,2), text_number BIGINT")}, filepath.Join(dir, "out2"))
	if err == nil || !strings.Contains(err.Error(), `column "ratio"`) {
		t.Fatalf("DOUBLE into DECIMAL: %v", err)
	}
}

func TestImportUndeclaredColumnRejected(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "in.csv", "address,label,secret_note\n0x1,a,keep me\n")

	_, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "address VARCHAR, label VARCHAR")}, filepath.Join(dir, "out"))

	if err == nil {
		t.Fatal("an import that drops the column secret_note succeeded")
	}
	if !strings.Contains(err.Error(), `["secret_note"]`) || !strings.Contains(err.Error(), "add them to the schema") {
		t.Errorf("error %q does not name the undeclared column and the fix", err)
	}
}

func TestImportMissingColumn(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "in.csv", "hash,Value\n0x1,5\n")

	_, err := Import(context.Background(), Source{Path: src, Schema: mustSchema(t, "hash VARCHAR, value DECIMAL(38,0), nonce BIGINT")}, filepath.Join(dir, "out"))
	if err == nil {
		t.Fatal("import with missing columns succeeded")
	}
	for _, want := range []string{`"value"`, `"nonce"`, "hash, Value"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestImportMissingFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Import(context.Background(), Source{Path: filepath.Join(dir, "nope.csv"), Schema: mustSchema(t, "a VARCHAR")}, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestImportBadSchema(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "in.csv", "a\n1\n")
	cases := [][]store.Column{
		nil,
		{{Name: "a", Type: "DECIMAL(39,0)"}},
		{{Name: "a", Type: "VARCHAR); DROP TABLE x; --"}},
		{{Name: `a"b`, Type: "VARCHAR"}},
		{{Name: "a", Type: "VARCHAR"}, {Name: "a", Type: "BIGINT"}},
	}
	for _, schema := range cases {
		if _, err := Import(context.Background(), Source{Path: src, Schema: schema}, filepath.Join(dir, "out")); err == nil {
			t.Errorf("schema %v accepted", schema)
		}
	}
}

func TestImportReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "out")
	good := writeFile(t, dir, "good.csv", "v\n1\n2\n")
	bad := writeFile(t, dir, "bad.csv", "v\n3\nx\n")
	schema := mustSchema(t, "v INTEGER")

	if _, err := Import(context.Background(), Source{Path: good, Schema: schema}, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), Source{Path: bad, Schema: schema}, dst); err == nil {
		t.Fatal("bad import succeeded")
	}

	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != DataFile {
		t.Fatalf("directory holds %v, want only %s", entries, DataFile)
	}
	if got := queryParquet(t, filepath.Join(dst, DataFile), "SELECT sum(v)::VARCHAR FROM t"); got != "3" {
		t.Fatalf("after a failed import the old data reads sum %s, want 3", got)
	}
}

func writeParquet(t *testing.T, path, selectSQL string) {
	t.Helper()
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
		t.Fatal(err)
	}
}
