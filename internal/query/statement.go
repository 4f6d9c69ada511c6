package query

import (
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// readOnlyKeywords are the first keywords a request may start with. The
// check runs before DuckDB parses the text; the prepared statement's type is
// checked as well (readOnlyTypes), and the lockdown settings stop file and
// network access whatever the statement is. The keyword check exists because
// DuckDB reports some statements by what they are rewritten to: PRAGMA
// version prepares as a SELECT.
var readOnlyKeywords = map[string]bool{
	"select":    true,
	"with":      true,
	"from":      true,
	"values":    true,
	"table":     true,
	"describe":  true,
	"show":      true,
	"summarize": true,
	"pivot":     true,
	"unpivot":   true,
	"explain":   true,
}

// readOnlyTypes are the prepared statement types that may run. EXPLAIN
// ANALYZE executes its query, which is read-only once the other checks pass.
var readOnlyTypes = map[duckdb.StmtType]bool{
	duckdb.STATEMENT_TYPE_SELECT:  true,
	duckdb.STATEMENT_TYPE_EXPLAIN: true,
}

const allowedStatements = "SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT, UNPIVOT and EXPLAIN"

// checkLeadingKeyword rejects a request whose first keyword is not a
// read-only one.
func checkLeadingKeyword(sql string) *Error {
	keyword := leadingKeyword(sql)
	if keyword == "" {
		return newError(CodeMultipleStatements, "the request holds no SQL statement: send exactly one statement, such as SELECT ...")
	}
	if !readOnlyKeywords[keyword] {
		return newError(CodeNotReadOnly, "%s statements are not allowed: queries are read-only and may start with %s", strings.ToUpper(keyword), allowedStatements)
	}
	return nil
}

// leadingKeyword returns the first word of sql in lower case, after white
// space, "--" line comments, "/* */" block comments (nested, as DuckDB's
// parser reads them) and opening parentheses. It returns "" when nothing
// follows, and the first character when the text starts with something else.
func leadingKeyword(sql string) string {
	i := 0
	for i < len(sql) {
		switch {
		case isSpace(sql[i]) || sql[i] == '(' || sql[i] == ';':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return ""
			}
			i += end + 1
		case strings.HasPrefix(sql[i:], "/*"):
			i = skipBlockComment(sql, i)
		default:
			return firstWord(sql[i:])
		}
	}
	return ""
}

// skipBlockComment returns the index after the block comment that starts at
// start, or len(sql) when it never closes.
func skipBlockComment(sql string, start int) int {
	depth := 0
	i := start
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(sql)
}

func firstWord(s string) string {
	end := 0
	for end < len(s) && isWordByte(s[end]) {
		end++
	}
	if end == 0 {
		// Not a keyword at all (a quote, a digit, ...): return the byte
		// so the error can show it.
		return s[:1]
	}
	return strings.ToLower(s[:end])
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func isWordByte(b byte) bool {
	return b == '_' || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}
