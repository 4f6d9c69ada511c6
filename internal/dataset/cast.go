package dataset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/duck"
	"github.com/moatdev/moat/internal/store"
)

// maxExampleLen caps a bad value quoted in an error.
const maxExampleLen = 100

// columnExprs returns one SELECT expression per schema column that casts
// the source column to its declared type.
func (im *importer) columnExprs() ([]string, error) {
	exprs := make([]string, 0, len(im.schema))
	for _, c := range im.schema {
		expr, err := im.columnExpr(c)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, expr+" AS "+duck.QuoteIdent(c.Name))
	}
	return exprs, nil
}

func (im *importer) columnExpr(c store.Column) (string, error) {
	col := duck.QuoteIdent(c.Name)
	sourceType := im.sourceTypes[c.Name]

	if sourceType != "VARCHAR" {
		if (sourceType == "FLOAT" || sourceType == "DOUBLE") && isExactNumeric(c.Type) {
			return "", fmt.Errorf("column %q is %s in the source, which already lost precision, and cannot become %s: declare it %s or re-export the source with exact values",
				c.Name, sourceType, c.Type, sourceType)
		}
		return "CAST(" + col + " AS " + c.Type + ")", nil
	}

	text := "NULLIF(" + col + ", '')"
	switch c.Type {
	case "VARCHAR":
		return col, nil
	case "TIMESTAMP":
		return "CASE WHEN regexp_full_match(" + col + ", '[0-9]+') THEN make_timestamp(CAST(" + col + " AS BIGINT) * 1000000) ELSE CAST(" + text + " AS TIMESTAMP) END", nil
	case "TIMESTAMPTZ":
		return "CASE WHEN regexp_full_match(" + col + ", '[0-9]+') THEN to_timestamp(CAST(" + col + " AS BIGINT)) ELSE CAST(" + text + " AS TIMESTAMPTZ) END", nil
	default:
		return "CAST(" + text + " AS " + c.Type + ")", nil
	}
}

func isExactNumeric(typ string) bool {
	_, _, isDecimal := decimalParts(typ)
	return isDecimal || isIntegerType(typ)
}

// textPattern returns the regular expression that text for an integer or
// DECIMAL column must match, or "" for other types. DuckDB's own cast would
// round "1.5" into INTEGER 2 and accept "1e18"; the pattern rejects both.
func textPattern(typ string) string {
	if isIntegerType(typ) {
		return `[+-]?[0-9]+`
	}
	precision, scale, ok := decimalParts(typ)
	if !ok {
		return ""
	}
	whole := precision - scale
	switch {
	case scale == 0:
		return fmt.Sprintf(`[+-]?0*[0-9]{1,%d}`, whole)
	case whole == 0:
		return fmt.Sprintf(`[+-]?0*(\.[0-9]{1,%d})?`, scale)
	default:
		return fmt.Sprintf(`[+-]?0*[0-9]{1,%d}(\.[0-9]{1,%d})?`, whole, scale)
	}
}

// validateText checks every text column bound for an integer or DECIMAL
// type against textPattern, and fails on the first bad value with the
// column, the value and the fix.
func (im *importer) validateText(ctx context.Context) error {
	for _, c := range im.schema {
		pattern := textPattern(c.Type)
		if pattern == "" || im.sourceTypes[c.Name] != "VARCHAR" {
			continue
		}
		col := duck.QuoteIdent(c.Name)
		query := "SELECT " + col + " FROM " + im.reader + " WHERE " + col + " <> '' AND NOT regexp_full_match(" + col + ", '" + pattern + "') LIMIT 1"

		var bad string
		err := im.conn.QueryRowContext(ctx, query).Scan(&bad)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check column %q of %q: %w", c.Name, im.path, err)
		}
		return badValueError(c, bad)
	}
	return nil
}

func badValueError(c store.Column, value string) error {
	fix := "fix the value in the source or declare the column VARCHAR"
	if precision, _, ok := decimalParts(c.Type); ok && len(strings.TrimLeft(value, "+-0")) > precision {
		fix = "values this large (such as uint256 amounts) do not fit DECIMAL(38,0); declare the column VARCHAR and cast in queries where needed"
	}
	return fmt.Errorf("column %q: value %q does not fit %s: %s", c.Name, truncate(value), c.Type, fix)
}

func (im *importer) copyTo(ctx context.Context, exprs []string, tmp string) error {
	target, err := duck.QuoteString(tmp)
	if err != nil {
		return err
	}
	query := "COPY (SELECT " + strings.Join(exprs, ", ") + " FROM " + im.reader + ") TO " + target + " (FORMAT parquet, COMPRESSION zstd)"
	if _, err := im.conn.ExecContext(ctx, query); err != nil {
		if named := im.findBadValue(ctx, exprs); named != nil {
			return named
		}
		return fmt.Errorf("import %q: %w", im.path, err)
	}
	return nil
}

// findBadValue runs after a failed COPY to name the column and a value that
// did not convert. TRY_CAST only locates the value; the import itself
// always uses CAST and fails.
func (im *importer) findBadValue(ctx context.Context, exprs []string) error {
	for i, c := range im.schema {
		if c.Type == "VARCHAR" {
			continue
		}
		col := duck.QuoteIdent(c.Name)
		expr := strings.TrimSuffix(exprs[i], " AS "+col)
		tryExpr := strings.Replace(expr, "CAST(", "TRY_CAST(", -1)
		query := "SELECT CAST(" + col + " AS VARCHAR) FROM " + im.reader +
			" WHERE " + col + " IS NOT NULL AND CAST(" + col + " AS VARCHAR) <> '' AND (" + tryExpr + ") IS NULL LIMIT 1"

		var bad string
		if err := im.conn.QueryRowContext(ctx, query).Scan(&bad); err == nil {
			return badValueError(c, bad)
		}
	}
	return nil
}

func (im *importer) describeOutput(ctx context.Context, tmp string) (Result, error) {
	path, err := duck.QuoteString(tmp)
	if err != nil {
		return Result{}, err
	}
	var rows int64
	if err := im.conn.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+path+")").Scan(&rows); err != nil {
		return Result{}, fmt.Errorf("read back imported file: %w", err)
	}
	info, err := os.Stat(tmp)
	if err != nil {
		return Result{}, fmt.Errorf("read back imported file: %w", err)
	}
	return Result{Rows: rows, Bytes: info.Size()}, nil
}

// commitFile syncs tmp, renames it to dst and syncs the directory, so after
// a crash either the old or the new file is there, whole.
func commitFile(tmp, dst string) error {
	f, err := os.Open(tmp)
	if err != nil {
		return fmt.Errorf("commit %q: %w", dst, err)
	}
	syncErr := f.Sync()
	_ = f.Close()
	if syncErr != nil {
		return fmt.Errorf("commit %q: sync: %w", dst, syncErr)
	}

	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("commit %q: %w", dst, err)
	}

	dir, err := os.Open(filepath.Dir(dst))
	if err != nil {
		return fmt.Errorf("commit %q: %w", dst, err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("commit %q: sync directory: %w", dst, err)
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= maxExampleLen {
		return s
	}
	return s[:maxExampleLen] + "…"
}
