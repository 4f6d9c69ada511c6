package dataset

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/duck"
	"github.com/moatdev/moat/internal/store"
)

// DataFile is the name of the Parquet file Import writes in its
// destination directory.
const DataFile = "data.parquet"

// Source is a file to import and the schema to give it.
type Source struct {
	Path string
	// Format is detected from Path when empty (see DetectFormat).
	Format Format
	// Schema lists the columns to import, in order, with their DuckDB types.
	// It must name every column of the source exactly once, so an import
	// never drops data silently.
	Schema []store.Column
}

// Result describes the written Parquet file.
type Result struct {
	Rows  int64
	Bytes int64
}

// Import reads src, casts every column to its declared type and writes
// dstDir/data.parquet. The file appears atomically: it is written under a
// temporary name in dstDir and renamed, so a failed import leaves an
// existing data.parquet as it was.
//
// Conversion rules (docs/query.md repeats them):
//   - An empty CSV field is NULL in every column; an empty string in a
//     JSON lines field is NULL in every non-VARCHAR column.
//   - Integer and DECIMAL columns accept plain decimal text only: an
//     optional sign, digits and, for DECIMAL, at most scale fractional
//     digits, so 1.5 is not rounded into an INTEGER and 1e18 is rejected.
//   - TIMESTAMP and TIMESTAMPTZ columns read a plain integer as Unix epoch
//     seconds (UTC) and anything else as a timestamp string.
//   - A Parquet FLOAT or DOUBLE column cannot become an integer or DECIMAL
//     column, because its values already lost precision.
//   - DuckDB's JSON reader parses JSON numbers with a fraction as doubles;
//     write exact fractional amounts as JSON strings.
func Import(ctx context.Context, src Source, dstDir string) (Result, error) {
	schema, err := checkSchema(src.Schema)
	if err != nil {
		return Result{}, err
	}
	format, err := DetectFormat(src.Path, src.Format)
	if err != nil {
		return Result{}, err
	}
	if err := checkSourceFile(src.Path); err != nil {
		return Result{}, err
	}

	db, conn, err := duck.OpenMemory(ctx)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return Result{}, fmt.Errorf("set import time zone: %w", err)
	}

	im := &importer{conn: conn, path: src.Path, format: format, schema: schema}
	result, err := im.run(ctx, dstDir)
	if err != nil {
		return Result{}, err
	}
	slog.Info("dataset imported", "source", src.Path, "format", format, "rows", result.Rows, "bytes", result.Bytes, "dir", dstDir)
	return result, nil
}

func checkSchema(schema []store.Column) ([]store.Column, error) {
	if len(schema) == 0 {
		return nil, errors.New("invalid schema: no columns; give every column to import with its type, for example \"hash VARCHAR, value DECIMAL(38,0)\"")
	}
	out := make([]store.Column, 0, len(schema))
	seen := map[string]bool{}
	for _, c := range schema {
		column, err := NewColumn(c.Name, c.Type)
		if err != nil {
			return nil, err
		}
		if seen[column.Name] {
			return nil, fmt.Errorf("invalid schema: column %q is listed twice", column.Name)
		}
		seen[column.Name] = true
		out = append(out, column)
	}
	return out, nil
}

func checkSourceFile(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("source file %q not found: check the path", path)
	}
	if err != nil {
		return fmt.Errorf("read source file %q: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("source %q is not a regular file", path)
	}
	return nil
}

// importer holds one import's state.
type importer struct {
	conn   *sql.Conn
	path   string
	format Format
	schema []store.Column
	// reader is the SQL table expression that reads the source.
	reader string
	// sourceTypes maps each source column to its DuckDB type.
	sourceTypes map[string]string
}

func (im *importer) run(ctx context.Context, dstDir string) (Result, error) {
	if err := im.openReader(ctx); err != nil {
		return Result{}, err
	}
	exprs, err := im.columnExprs()
	if err != nil {
		return Result{}, err
	}
	if err := im.validateText(ctx); err != nil {
		return Result{}, err
	}

	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("create dataset directory %q: %w", dstDir, err)
	}
	tmp := filepath.Join(dstDir, ".data.parquet.tmp-"+randomSuffix())
	defer os.Remove(tmp)

	if err := im.copyTo(ctx, exprs, tmp); err != nil {
		return Result{}, err
	}
	result, err := im.describeOutput(ctx, tmp)
	if err != nil {
		return Result{}, err
	}
	if err := commitFile(tmp, filepath.Join(dstDir, DataFile)); err != nil {
		return Result{}, err
	}
	return result, nil
}

// openReader builds the table expression for the source and reads the
// source's column names and types.
func (im *importer) openReader(ctx context.Context) error {
	path, err := duck.QuoteString(im.path)
	if err != nil {
		return err
	}

	switch im.format {
	case FormatCSV:
		// all_varchar: no type is guessed, so no value passes through a
		// float before the explicit CAST.
		im.reader = "read_csv(" + path + ", header = true, all_varchar = true)"
	case FormatParquet:
		im.reader = "read_parquet(" + path + ")"
	case FormatJSONL:
		if err := im.openJSONReader(ctx, path); err != nil {
			return err
		}
	}

	types, err := im.describe(ctx, im.reader)
	if err != nil {
		return fmt.Errorf("read %s source %q: %w", im.format, im.path, err)
	}
	im.sourceTypes = types
	return im.checkColumnsExist()
}

// openJSONReader reads the key names with DuckDB's detection (its types are
// ignored) and then reads every schema column as VARCHAR.
func (im *importer) openJSONReader(ctx context.Context, path string) error {
	detected, err := im.describe(ctx, "read_json("+path+", format = 'newline_delimited', sample_size = -1)")
	if err != nil {
		return fmt.Errorf("read jsonl source %q: %w", im.path, err)
	}
	im.sourceTypes = detected
	if err := im.checkColumnsExist(); err != nil {
		return err
	}

	var columns []string
	for _, c := range im.schema {
		name, err := duck.QuoteString(c.Name)
		if err != nil {
			return err
		}
		columns = append(columns, name+": 'VARCHAR'")
	}
	im.reader = "read_json(" + path + ", format = 'newline_delimited', columns = {" + strings.Join(columns, ", ") + "})"
	return nil
}

func (im *importer) describe(ctx context.Context, reader string) (map[string]string, error) {
	rows, err := im.conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+reader+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	types := map[string]string{}
	var order []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		types[name] = typ
		order = append(order, name)
	}
	types[columnOrderKey] = strings.Join(order, ", ")
	return types, rows.Err()
}

// columnOrderKey stores the source's column list, in order, for messages.
// It cannot clash with a column because it contains a NUL byte.
const columnOrderKey = "\x00order"

func (im *importer) checkColumnsExist() error {
	var missing []string
	declared := map[string]bool{}
	for _, c := range im.schema {
		declared[c.Name] = true
		if _, ok := im.sourceTypes[c.Name]; !ok {
			missing = append(missing, c.Name)
		}
	}

	var extra []string
	for _, name := range strings.Split(im.sourceTypes[columnOrderKey], ", ") {
		if name != "" && !declared[name] {
			extra = append(extra, name)
		}
	}
	if len(missing) == 0 && len(extra) > 0 {
		return fmt.Errorf("source %q has columns %q that the schema does not declare: add them to the schema (VARCHAR keeps any value exactly as text) so no data is dropped",
			im.path, extra)
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("schema columns %q are not in source %q, whose columns are: %s; fix the schema names (they are case-sensitive)",
		missing, im.path, im.sourceTypes[columnOrderKey])
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
