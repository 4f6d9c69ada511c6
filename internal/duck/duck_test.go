package duck

import (
	"context"
	"testing"
)

func TestQuoteRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, conn, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer conn.Close()

	for _, s := range []string{"plain", "it's", `back\slash`, `"double"`, "new\nline", ""} {
		lit, err := QuoteString(s)
		if err != nil {
			t.Fatalf("QuoteString(%q): %v", s, err)
		}
		var got string
		if err := conn.QueryRowContext(ctx, "SELECT "+lit).Scan(&got); err != nil {
			t.Fatalf("select %s: %v", lit, err)
		}
		if got != s {
			t.Errorf("literal %s read back as %q, want %q", lit, got, s)
		}

		var name string
		query := "SELECT column_name FROM (DESCRIBE SELECT 1 AS " + QuoteIdent(s+"x") + ")"
		if err := conn.QueryRowContext(ctx, query).Scan(&name); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if name != s+"x" {
			t.Errorf("identifier %s read back as %q, want %q", QuoteIdent(s+"x"), name, s+"x")
		}
	}
}

func TestQuoteStringRejectsNUL(t *testing.T) {
	if _, err := QuoteString("a\x00b"); err == nil {
		t.Fatal("QuoteString accepted a NUL byte")
	}
	if _, err := QuoteStringList([]string{"ok", "a\x00b"}); err == nil {
		t.Fatal("QuoteStringList accepted a NUL byte")
	}
}

func TestQuoteStringListEmpty(t *testing.T) {
	ctx := context.Background()
	db, conn, err := OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer conn.Close()

	for _, list := range [][]string{nil, {"a", "b'c"}} {
		lit, err := QuoteStringList(list)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT len("+lit+")").Scan(&n); err != nil {
			t.Fatalf("select len(%s): %v", lit, err)
		}
		if n != len(list) {
			t.Errorf("len(%s) = %d, want %d", lit, n, len(list))
		}
	}
}
