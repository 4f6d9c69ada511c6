package query

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// errCancelRequested is the cause of a query context that the client
// cancelled with a cancel frame (as opposed to the statement timeout).
var errCancelRequested = errors.New("query cancelled by the client")

// Stats describes the rows a query delivered.
type Stats struct {
	// Rows is the number of JSON lines written.
	Rows int64 `json:"rows"`
	// Bytes is the number of bytes written, newlines included.
	Bytes int64 `json:"bytes"`
}

// run executes one statement and passes each encoded row (without the
// newline) to emit. It checks, in order: the leading keyword, that the text
// is exactly one statement, the prepared statement type, then runs it and
// enforces MaxRows and MaxBytes. An emit error stops the query and is
// returned as a query_failed Error.
func (e *engine) run(ctx context.Context, sqlText string, emit func(row []byte) error) (Stats, *Error) {
	if qerr := checkLeadingKeyword(sqlText); qerr != nil {
		return Stats{}, qerr
	}

	var stats Stats
	var qerr *Error
	err := e.conn.Raw(func(driverConn any) error {
		conn, ok := driverConn.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("driver connection is a %T, want *duckdb.Conn", driverConn)
		}
		stats, qerr = e.runOnConn(ctx, conn, sqlText, emit)
		return nil
	})
	if err != nil {
		return stats, newError(CodeEngineError, "the query engine failed: %s", e.redact.Replace(err.Error()))
	}
	return stats, qerr
}

func (e *engine) runOnConn(ctx context.Context, conn *duckdb.Conn, sqlText string, emit func([]byte) error) (Stats, *Error) {
	// Conn.Prepare (unlike PrepareContext, which executes every statement
	// but the last) extracts the statements first and fails before running
	// anything when there is not exactly one.
	prepared, err := conn.Prepare(sqlText)
	if err != nil {
		return Stats{}, e.prepareError(err)
	}
	defer prepared.Close()
	stmt := prepared.(*duckdb.Stmt)

	kind, err := stmt.StatementType()
	if err != nil {
		return Stats{}, e.classify(ctx, err)
	}
	if !readOnlyTypes[kind] {
		return Stats{}, newError(CodeNotReadOnly, "the statement is not read-only: queries may only be %s statements", allowedStatements)
	}

	if stmt.NumInput() > 0 {
		return Stats{}, newError(CodeInvalidSQL, "the statement has parameters ($1 or ?), which queries cannot bind: write the values into the SQL")
	}

	rows, err := stmt.QueryContext(ctx, nil)
	if err != nil {
		return Stats{}, e.classify(ctx, err)
	}
	defer rows.Close()

	return e.stream(ctx, rows, emit)
}

// prepareError maps a Prepare failure. duckdb-go reports the statement count
// only in its message, so the two texts below are matched; a test fails if
// the driver changes them.
func (e *engine) prepareError(err error) *Error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "missing context for multi-statement query"):
		return newError(CodeMultipleStatements, "the request holds more than one SQL statement: send one statement per query (PIVOT without an IN list also counts as two; list the values with IN (...))")
	case strings.Contains(msg, "empty query"):
		return newError(CodeMultipleStatements, "the request holds no SQL statement: send exactly one statement, such as SELECT ...")
	}
	return e.classify(context.Background(), err)
}

func (e *engine) stream(ctx context.Context, rows driver.Rows, emit func([]byte) error) (Stats, *Error) {
	names := rows.Columns()
	types := make([]string, len(names))
	if typed, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		for i := range names {
			types[i] = typed.ColumnTypeDatabaseTypeName(i)
		}
	}
	enc := newRowEncoder(names, types)
	values := make([]driver.Value, len(names))

	var stats Stats
	for {
		if ctx.Err() != nil {
			return stats, e.classify(ctx, ctx.Err())
		}

		err := rows.Next(values)
		if errors.Is(err, io.EOF) {
			return stats, nil
		}
		if err != nil {
			return stats, e.classify(ctx, err)
		}

		if stats.Rows >= e.cfg.MaxRows {
			return stats, newError(CodeResultTooLarge, "the result has more than %d rows, the limit per query: add LIMIT, filter or aggregate in SQL", e.cfg.MaxRows)
		}
		line, err := enc.encode(values)
		if err != nil {
			return stats, newError(CodeQueryFailed, "%s", err)
		}
		if stats.Bytes+int64(len(line))+1 > e.cfg.MaxBytes {
			return stats, newError(CodeResultTooLarge, "the result is larger than %d bytes of JSON lines, the limit per query: select fewer columns, add LIMIT or aggregate in SQL", e.cfg.MaxBytes)
		}
		if err := emit(line); err != nil {
			return stats, newError(CodeQueryFailed, "sending the result failed: %s", err)
		}
		stats.Rows++
		stats.Bytes += int64(len(line)) + 1
	}
}

// classify maps a DuckDB or context error to an Error, with host paths
// replaced by dataset names.
func (e *engine) classify(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errCancelRequested) {
			return newError(CodeCancelled, "the query was cancelled")
		}
		return newError(CodeTimeout, "the query ran longer than the statement timeout of %s: filter earlier, aggregate or add LIMIT", e.cfg.StatementTimeout)
	}

	var dbErr *duckdb.Error
	if !errors.As(err, &dbErr) {
		return newError(CodeQueryFailed, "%s", e.redact.Replace(err.Error()))
	}
	msg := e.redact.Replace(dbErr.Msg)

	switch dbErr.Type {
	case duckdb.ErrorTypePermission, duckdb.ErrorTypeHTTP, duckdb.ErrorTypeNetwork,
		duckdb.ErrorTypeMissingExtension, duckdb.ErrorTypeAutoLoad:
		return newError(CodeAccessDenied, "%s\nQueries can read only the granted datasets, by name (%s); files, URLs, other databases and extensions cannot be used.", msg, e.datasetList())
	case duckdb.ErrorTypeParser, duckdb.ErrorTypeSyntax, duckdb.ErrorTypeBinder, duckdb.ErrorTypeCatalog,
		duckdb.ErrorTypeParameterNotResolved, duckdb.ErrorTypeParameterNotAllowed:
		return newError(CodeInvalidSQL, "%s", msg)
	case duckdb.ErrorTypeOutOfMemory:
		// Only DuckDB's first line: the rest suggests SET and PRAGMA
		// changes that a locked engine rejects.
		first, _, _ := strings.Cut(msg, "\n")
		return newError(CodeOutOfMemory, "%s\nThe query needs more than the engine's %d bytes of memory and %d bytes of spill space: filter earlier, aggregate or select fewer columns.", first, e.cfg.MemoryBytes, e.cfg.MaxTempBytes)
	case duckdb.ErrorTypeInterrupt:
		return newError(CodeTimeout, "the query was interrupted: %s", msg)
	case duckdb.ErrorTypeFatal, duckdb.ErrorTypeInternal:
		return newError(CodeEngineError, "%s", msg)
	default:
		return newError(CodeQueryFailed, "%s", msg)
	}
}

func (e *engine) datasetList() string {
	if len(e.datasets) == 0 {
		return "none granted to this run"
	}
	return strings.Join(e.datasets, ", ")
}
