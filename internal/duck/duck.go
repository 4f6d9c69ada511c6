// Package duck holds the DuckDB helpers that package query (the locked-down
// query engine) and package dataset (the importer) share: opening an
// in-memory database and quoting identifiers and literals.
//
// It imports no other moat package, so both users can import it without a
// cycle.
package duck

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	// Registers the "duckdb" database/sql driver.
	_ "github.com/duckdb/duckdb-go/v2"
)

// OpenMemory opens a private in-memory DuckDB database and returns its one
// connection. Settings made with SET are global to that database, so a pool
// of several connections would add nothing but ambiguity. Closing the
// returned *sql.Conn and then the *sql.DB releases the database.
func OpenMemory(ctx context.Context) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, nil, fmt.Errorf("open in-memory duckdb: %w", err)
	}
	db.SetMaxOpenConns(1)

	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, nil, fmt.Errorf("connect to in-memory duckdb: %w", err)
	}
	return db, conn, nil
}

// QuoteIdent returns name as a DuckDB quoted identifier ("a""b" for a"b).
func QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// QuoteString returns s as a DuckDB string literal, with every single quote
// doubled. DuckDB's standard string literals have no backslash escapes, so
// doubling the quote is the whole escape. It fails on NUL bytes, which DuckDB
// would cut the string at.
func QuoteString(s string) (string, error) {
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("string %q contains a NUL byte, which DuckDB cannot take in a literal", s)
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// QuoteStringList returns ss as a DuckDB VARCHAR[] literal, for example
// ['a.parquet', 'b.parquet']::VARCHAR[]. An empty list stays typed.
func QuoteStringList(ss []string) (string, error) {
	quoted := make([]string, 0, len(ss))
	for _, s := range ss {
		q, err := QuoteString(s)
		if err != nil {
			return "", err
		}
		quoted = append(quoted, q)
	}
	return "[" + strings.Join(quoted, ", ") + "]::VARCHAR[]", nil
}
