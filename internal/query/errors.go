package query

import "fmt"

// Reason codes of Error. They are stable: the gateway sends them to job
// authors and the audit log stores them.
const (
	// CodeInvalidSQL: the statement does not parse or bind (syntax error,
	// unknown table, column or function).
	CodeInvalidSQL = "invalid_sql"
	// CodeQueryFailed: the statement is valid but failed while it ran
	// (conversion error, division by zero, ...).
	CodeQueryFailed = "query_failed"
	// CodeAccessDenied: the statement tried to read a file, URL or database
	// that is not a granted dataset, or to install or load an extension.
	CodeAccessDenied = "access_denied"
	// CodeTimeout: the statement ran longer than Config.StatementTimeout.
	CodeTimeout = "timeout"
	// CodeCancelled: the caller's context ended before the statement did.
	CodeCancelled = "cancelled"
	// CodeResultTooLarge: the result has more than Config.MaxRows rows or
	// more than Config.MaxBytes bytes of JSON lines. The rows up to the cap
	// have been written.
	CodeResultTooLarge = "result_too_large"
	// CodeOutOfMemory: the statement needed more than Config.MemoryBytes of
	// memory plus Config.MaxTempBytes of spill space.
	CodeOutOfMemory = "out_of_memory"
	// CodeMultipleStatements: the request held more than one statement, or
	// none.
	CodeMultipleStatements = "multiple_statements"
	// CodeNotReadOnly: the statement is not one of the read-only kinds
	// (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT,
	// UNPIVOT, EXPLAIN).
	CodeNotReadOnly = "not_read_only"
	// CodeEngineCrashed: the engine process died, broke the protocol or was
	// killed after ignoring an interrupt. The next query starts a new one.
	CodeEngineCrashed = "engine_crashed"
	// CodeEngineError: DuckDB reported an internal or fatal error, or the
	// engine could not be set up.
	CodeEngineError = "engine_error"
)

// Error is a query failure with a stable reason code and a message written
// for the job author. Messages name granted datasets, never the host paths of
// their files.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the code and the message.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
