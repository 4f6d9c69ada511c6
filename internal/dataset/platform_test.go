package dataset

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxCSVColumn parses a CSV file with encoding/csv and math/big and returns
// the row count and the maximum of one integer column, independently of
// DuckDB, and the maximum among values of at most 38 digits.
func maxCSVColumn(t *testing.T, path, column string) (int64, *big.Int, *big.Int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = gz
	}
	records := csv.NewReader(r)
	header, err := records.Read()
	if err != nil {
		t.Fatal(err)
	}
	index := -1
	for i, name := range header {
		if name == column {
			index = i
		}
	}
	if index < 0 {
		t.Fatalf("column %q not in %v", column, header)
	}

	var rows int64
	max, maxFitting := new(big.Int), new(big.Int)
	for {
		record, err := records.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		v, ok := new(big.Int).SetString(record[index], 10)
		if !ok {
			t.Fatalf("row %d: %s %q is not an integer", rows, column, record[index])
		}
		if v.Cmp(max) > 0 {
			max = v
		}
		if len(record[index]) <= 38 && v.Cmp(maxFitting) > 0 {
			maxFitting = v
		}
	}
	return rows, max, maxFitting
}

func importPlatform(t *testing.T, name string) (Platform, string, Result) {
	t.Helper()
	data := sharedData(t)
	for _, p := range PlatformDatasets() {
		if p.Name != name {
			continue
		}
		dst := filepath.Join(t.TempDir(), PublicPath(p.Name))
		result, err := Import(context.Background(), Source{Path: filepath.Join(data, p.File), Format: p.Format, Schema: p.Schema}, dst)
		if err != nil {
			t.Fatalf("import %s: %v", p.Name, err)
		}
		return p, filepath.Join(dst, DataFile), result
	}
	t.Fatalf("no platform dataset %q", name)
	return Platform{}, "", Result{}
}

func TestImportPlatformTransactions(t *testing.T) {
	p, file, result := importPlatform(t, "ethereum.transactions")

	if result.Rows != 19999 {
		t.Fatalf("rows = %d, want 19999", result.Rows)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if result.Bytes != info.Size() || result.Bytes == 0 {
		t.Fatalf("bytes = %d, file has %d", result.Bytes, info.Size())
	}

	rows, max, _ := maxCSVColumn(t, filepath.Join(sharedData(t), p.File), "value")
	if rows != 19999 {
		t.Fatalf("encoding/csv counted %d rows", rows)
	}
	if got := queryParquet(t, file, "SELECT max(value)::VARCHAR FROM t"); got != max.String() {
		t.Fatalf("max(value) = %s, want %s", got, max)
	}
	_, maxPrice, _ := maxCSVColumn(t, filepath.Join(sharedData(t), p.File), "gas_price")
	if got := queryParquet(t, file, "SELECT max(gas_price)::VARCHAR FROM t"); got != maxPrice.String() {
		t.Fatalf("max(gas_price) = %s, want %s", got, maxPrice)
	}

	checks := map[string]string{
		"SELECT typeof(value) FROM t LIMIT 1":                                  "DECIMAL(38,0)",
		"SELECT typeof(block_timestamp) FROM t LIMIT 1":                        "TIMESTAMP",
		"SELECT min(block_timestamp)::VARCHAR FROM t":                          "2017-03-06 03:00:00",
		"SELECT max(epoch(block_timestamp))::BIGINT::VARCHAR FROM t":           "1488800865",
		"SELECT count(*)::VARCHAR FROM t WHERE to_address IS NULL":             "31",
		"SELECT count(DISTINCT block_number)::VARCHAR FROM t":                  "1293",
		"SELECT count(*)::VARCHAR FROM t WHERE max_fee_per_gas IS NOT NULL":    "0",
		"SELECT min(block_number)::VARCHAR || '-' || max(block_number) FROM t": "3300000-3302204",
	}
	for q, want := range checks {
		if got := queryParquet(t, file, q); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
}

func TestImportPlatformTokenTransfers(t *testing.T) {
	p, file, result := importPlatform(t, "ethereum.token_transfers")

	if result.Rows != 14323 {
		t.Fatalf("rows = %d, want 14323", result.Rows)
	}
	_, max, maxFitting := maxCSVColumn(t, filepath.Join(sharedData(t), p.File), "value")
	if got := queryParquet(t, file, "SELECT max(value::BIGNUM)::VARCHAR FROM t"); got != max.String() {
		t.Fatalf("max(value::BIGNUM) = %s, want %s", got, max)
	}
	// The ERC-721 token ids are uint256 values, which is why value is
	// VARCHAR and not DECIMAL(38,0).
	if len(max.String()) <= 38 {
		t.Fatalf("max value %s fits DECIMAL(38,0); the schema could use it", max)
	}
	if got := queryParquet(t, file, "SELECT count(*)::VARCHAR FROM t WHERE length(value) > 38"); got != "127" {
		t.Errorf("values beyond 38 digits = %s, want 127", got)
	}
	if got := queryParquet(t, file, "SELECT max(value::DECIMAL(38,0))::VARCHAR FROM t WHERE length(value) <= 38"); got != maxFitting.String() {
		t.Errorf("max value of at most 38 digits = %s, want %s", got, maxFitting)
	}
	if got := queryParquet(t, file, "SELECT count(DISTINCT token_address)::VARCHAR FROM t"); got != "1251" {
		t.Errorf("distinct tokens = %s, want 1251", got)
	}
}

func TestPaths(t *testing.T) {
	if got := OrgPath("acme", "watchlist"); got != "datasets/org=acme/watchlist" {
		t.Errorf("OrgPath = %q", got)
	}
	if got := PublicPath("ethereum.transactions"); got != "datasets/public/ethereum.transactions" {
		t.Errorf("PublicPath = %q", got)
	}
}

func TestPlatformSchemasAreValid(t *testing.T) {
	for _, p := range PlatformDatasets() {
		if _, err := ParseSchema(FormatSchema(p.Schema)); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}
