package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moatdev/moat/internal/query"
)

// TestImportThenQuery imports the platform token transfers, writes another
// org's watchlist, and starts a query engine that is granted only the
// transfers: the watchlist must stay unreadable and the big values exact.
func TestImportThenQuery(t *testing.T) {
	_, transfers, _ := importPlatform(t, "ethereum.token_transfers")
	_, max, maxFitting := maxCSVColumn(t, filepath.Join(sharedData(t), "token_transfers_blocks_15320500-15320599.csv"), "value")

	dataDir := t.TempDir()
	watchSrc := writeFile(t, t.TempDir(), "watchlist.csv", "address,note\n0xabc,secret of org other\n")
	watchDir := filepath.Join(dataDir, OrgPath("other", "watchlist"))
	if _, err := Import(context.Background(), Source{Path: watchSrc, Schema: mustSchema(t, "address VARCHAR, note VARCHAR")}, watchDir); err != nil {
		t.Fatal(err)
	}
	watchlist := filepath.Join(watchDir, DataFile)

	spill := filepath.Join(dataDir, "spill")
	if err := os.Mkdir(spill, 0o700); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := query.Config{
		Views:   []query.View{{Name: "ethereum.token_transfers", Files: []string{transfers}}},
		TempDir: spill,
	}
	client, err := query.Start(context.Background(), cfg, exe, engineArg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	t.Run("max value exact", func(t *testing.T) {
		row := queryOne(t, client, "SELECT max(value::BIGNUM) AS max_value, max(CASE WHEN length(value) <= 38 THEN value::DECIMAL(38,0) END) AS max_erc20, count(*) AS n FROM ethereum.token_transfers")
		if row["max_value"] != max.String() {
			t.Errorf("max_value = %v, want %s", row["max_value"], max)
		}
		if row["max_erc20"] != maxFitting.String() {
			t.Errorf("max_erc20 = %v, want %s", row["max_erc20"], maxFitting)
		}
		if n, ok := row["n"].(json.Number); !ok || n.String() != "14323" {
			t.Errorf("n = %v, want 14323", row["n"])
		}
	})

	t.Run("watchlist unreadable", func(t *testing.T) {
		for _, sql := range []string{
			"SELECT * FROM read_parquet('" + watchlist + "')",
			"SELECT * FROM '" + watchlist + "'",
			"SELECT * FROM read_parquet('" + filepath.Join(dataDir, "datasets") + "/*/*/*.parquet')",
			"SELECT * FROM read_parquet('" + filepath.Dir(transfers) + "/../../org=other/watchlist/data.parquet')",
			"SELECT * FROM read_csv('" + watchSrc + "')",
		} {
			var out bytes.Buffer
			_, err := client.Query(context.Background(), sql, &out)
			var qerr *query.Error
			if !errors.As(err, &qerr) || qerr.Code != query.CodeAccessDenied {
				t.Errorf("%s: %v, want %s", sql, err, query.CodeAccessDenied)
			}
			if strings.Contains(out.String(), "secret") {
				t.Errorf("%s: returned the watchlist: %s", sql, out.String())
			}
		}
	})
}

func queryOne(t *testing.T, client *query.Client, sql string) map[string]any {
	t.Helper()
	var out bytes.Buffer
	stats, err := client.Query(context.Background(), sql, &out)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if stats.Rows != 1 {
		t.Fatalf("%s: %d rows, want 1", sql, stats.Rows)
	}
	dec := json.NewDecoder(&out)
	dec.UseNumber()
	var row map[string]any
	if err := dec.Decode(&row); err != nil {
		t.Fatal(err)
	}
	return row
}
