package embedded_test

import (
	"encoding/csv"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// maxTokenTransferValue computes the largest token transfer value of the
// sample data with math/big, independently of DuckDB.
func maxTokenTransferValue(t *testing.T, shared string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(shared, "token_transfers_blocks_15320500-15320599.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, name := range records[0] {
		if name == "value" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("token transfers CSV has no value column")
	}

	max := new(big.Int)
	for _, rec := range records[1:] {
		v, ok := new(big.Int).SetString(rec[col], 10)
		if !ok {
			t.Fatalf("value %q is not an integer", rec[col])
		}
		if v.Cmp(max) > 0 {
			max = v
		}
	}
	return max.String()
}
