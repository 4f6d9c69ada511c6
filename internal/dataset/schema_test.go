package dataset

import (
	"testing"

	"github.com/moatdev/moat/internal/store"
)

func TestParseSchema(t *testing.T) {
	got, err := ParseSchema("hash VARCHAR, value decimal( 38 , 0 ), block_number BIGINT,ts timestamp with time zone, n int")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Column{
		{Name: "hash", Type: "VARCHAR"},
		{Name: "value", Type: "DECIMAL(38,0)"},
		{Name: "block_number", Type: "BIGINT"},
		{Name: "ts", Type: "TIMESTAMPTZ"},
		{Name: "n", Type: "INTEGER"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestParseSchemaErrors(t *testing.T) {
	bad := []string{
		"",
		"hash",
		"hash VARCHAR,",
		"hash VARCHAR, hash BIGINT",
		"value DECIMAL(39,0)",
		"value DECIMAL(10,11)",
		"value DECIMAL(0,0)",
		"value UINT256",
		"1col VARCHAR",
		"a-b VARCHAR",
		"a VARCHAR); DROP TABLE t; --",
		"a STRUCT(b INT)",
	}
	for _, s := range bad {
		if _, err := ParseSchema(s); err == nil {
			t.Errorf("ParseSchema(%q) succeeded", s)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	cases := map[string]Format{
		"a.csv":       FormatCSV,
		"a.CSV.gz":    FormatCSV,
		"a.jsonl":     FormatJSONL,
		"a.ndjson.gz": FormatJSONL,
		"a.parquet":   FormatParquet,
	}
	for path, want := range cases {
		got, err := DetectFormat(path, "")
		if err != nil || got != want {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"a.json", "a.txt", "a.parquet.gz", "a"} {
		if _, err := DetectFormat(path, ""); err == nil {
			t.Errorf("DetectFormat(%q) succeeded", path)
		}
	}
	if got, err := DetectFormat("a.txt", FormatCSV); err != nil || got != FormatCSV {
		t.Errorf("explicit csv = %q, %v", got, err)
	}
	if _, err := DetectFormat("a.csv", "xml"); err == nil {
		t.Error("unknown explicit format accepted")
	}
}
