package query

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/moatdev/moat/internal/duck"
)

// engine is one DuckDB database with the run's views, locked down.
type engine struct {
	db   *sql.DB
	conn *sql.Conn
	cfg  Config
	// redact replaces the host paths of granted files and of the temp
	// directory in DuckDB's messages with the dataset name.
	redact *strings.Replacer
	// datasets lists the view names for error hints.
	datasets []string
}

// reservedSchemas are DuckDB's own schemas and catalogs, which a dataset
// name must not use as its schema part.
var reservedSchemas = map[string]bool{
	"main": true, "information_schema": true, "pg_catalog": true,
	"system": true, "temp": true, "memory": true,
}

// openEngine creates the views and then locks the database down. The order
// matters: views are created while files can still be named, temp_directory
// is set while it may still change, and lock_configuration comes last so
// nothing after it can undo a setting.
func openEngine(ctx context.Context, cfg Config) (*engine, error) {
	db, conn, err := duck.OpenMemory(ctx)
	if err != nil {
		return nil, err
	}
	e := &engine{db: db, conn: conn, cfg: cfg, redact: newRedactor(cfg)}
	for _, v := range cfg.Views {
		e.datasets = append(e.datasets, v.Name)
	}

	steps := []func(context.Context) error{e.createViews, e.lockDown, e.verifyLockdown}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			e.close()
			return nil, err
		}
	}
	return e, nil
}

func (e *engine) close() {
	_ = e.conn.Close()
	_ = e.db.Close()
}

func (e *engine) createViews(ctx context.Context) error {
	for _, v := range e.cfg.Views {
		schema, name, dotted := strings.Cut(v.Name, ".")
		target := duck.QuoteIdent(v.Name)
		if dotted {
			if reservedSchemas[schema] {
				return fmt.Errorf("create view %q: %q is a DuckDB schema; rename the dataset", v.Name, schema)
			}
			if err := e.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+duck.QuoteIdent(schema)); err != nil {
				return fmt.Errorf("create schema for view %q: %w", v.Name, err)
			}
			target = duck.QuoteIdent(schema) + "." + duck.QuoteIdent(name)
		}

		files, err := duck.QuoteStringList(v.Files)
		if err != nil {
			return fmt.Errorf("create view %q: %w", v.Name, err)
		}
		if err := e.exec(ctx, "CREATE VIEW "+target+" AS SELECT * FROM read_parquet("+files+")"); err != nil {
			return fmt.Errorf("create view %q: %w", v.Name, err)
		}
	}
	return nil
}

// lockDown applies the settings in order. Each one closes a way out:
// allowed_paths plus enable_external_access=false leave exactly the granted
// files readable (no other file, glob, URL, ATTACH, COPY TO, INSTALL or LOAD
// of a non-built-in extension); the extension settings stop DuckDB from
// fetching or loading extensions on its own; lock_configuration stops any
// later SET or RESET.
func (e *engine) lockDown(ctx context.Context) error {
	tempDir, err := duck.QuoteString(e.cfg.TempDir)
	if err != nil {
		return err
	}
	allowed, err := duck.QuoteStringList(e.allowedFiles())
	if err != nil {
		return err
	}

	settings := []string{
		"SET TimeZone = 'UTC'",
		fmt.Sprintf("SET memory_limit = '%dB'", e.cfg.MemoryBytes),
		fmt.Sprintf("SET threads = %d", e.cfg.Threads),
		// temp_directory must be set before external access is disabled,
		// which freezes it.
		"SET temp_directory = " + tempDir,
		fmt.Sprintf("SET max_temp_directory_size = '%dB'", e.cfg.MaxTempBytes),
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allow_community_extensions = false",
		"SET allow_unsigned_extensions = false",
		"SET allowed_paths = " + allowed,
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	}
	for _, s := range settings {
		if err := e.exec(ctx, s); err != nil {
			return fmt.Errorf("lock down query engine: %s: %w", s, err)
		}
	}
	return nil
}

// verifyLockdown reads the security settings back and fails closed on any
// difference, and checks that the configuration really is locked.
func (e *engine) verifyLockdown(ctx context.Context) error {
	wantFalse := []string{"enable_external_access", "autoinstall_known_extensions", "autoload_known_extensions", "allow_community_extensions", "allow_unsigned_extensions"}
	for _, name := range wantFalse {
		if err := e.expectSetting(ctx, name, "false"); err != nil {
			return err
		}
	}
	if err := e.expectSetting(ctx, "lock_configuration", "true"); err != nil {
		return err
	}
	if err := e.expectSetting(ctx, "threads", fmt.Sprint(e.cfg.Threads)); err != nil {
		return err
	}

	paths, err := e.settingList(ctx, "allowed_paths")
	if err != nil {
		return err
	}
	if !slices.Equal(paths, e.allowedFiles()) {
		return fmt.Errorf("verify query engine lockdown: allowed_paths is %q, want %q", paths, e.allowedFiles())
	}
	// DuckDB adds temp_directory to allowed_directories by itself when
	// external access is disabled (1.5.6), so it can spill; the directory
	// holds only this engine's spill files. Nothing else may be there.
	dirs, err := e.settingList(ctx, "allowed_directories")
	if err != nil {
		return err
	}
	if len(dirs) > 1 || (len(dirs) == 1 && strings.TrimSuffix(dirs[0], "/") != e.cfg.TempDir) {
		return fmt.Errorf("verify query engine lockdown: allowed_directories is %q, want at most the temp directory %q", dirs, e.cfg.TempDir)
	}

	if err := e.exec(ctx, "SET enable_external_access = true"); err == nil {
		return fmt.Errorf("verify query engine lockdown: SET enable_external_access = true succeeded after lock_configuration")
	}
	slog.Debug("query engine locked down", "views", len(e.cfg.Views), "allowed_files", len(paths))
	return nil
}

func (e *engine) expectSetting(ctx context.Context, name, want string) error {
	var got string
	err := e.conn.QueryRowContext(ctx, "SELECT value FROM duckdb_settings() WHERE name = ?", name).Scan(&got)
	if err != nil {
		return fmt.Errorf("verify query engine lockdown: read setting %q: %w", name, err)
	}
	if got != want {
		return fmt.Errorf("verify query engine lockdown: setting %q is %q, want %q", name, got, want)
	}
	return nil
}

func (e *engine) settingList(ctx context.Context, name string) ([]string, error) {
	var raw any
	if err := e.conn.QueryRowContext(ctx, "SELECT current_setting(?)", name).Scan(&raw); err != nil {
		return nil, fmt.Errorf("verify query engine lockdown: read setting %q: %w", name, err)
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("verify query engine lockdown: setting %q is a %T, want a list", name, raw)
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("verify query engine lockdown: setting %q contains a %T, expected strings", name, item)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// allowedFiles returns every view file, sorted and without repeats.
func (e *engine) allowedFiles() []string {
	var files []string
	for _, v := range e.cfg.Views {
		files = append(files, v.Files...)
	}
	sort.Strings(files)
	return slices.Compact(files)
}

func (e *engine) exec(ctx context.Context, statement string) error {
	_, err := e.conn.ExecContext(ctx, statement)
	return err
}

// newRedactor maps host paths to dataset names, which a job author can use.
// Longer paths go first so a path is never replaced by the entry of its own
// prefix.
func newRedactor(cfg Config) *strings.Replacer {
	type pair struct{ path, label string }
	var pairs []pair
	for _, v := range cfg.Views {
		for _, f := range v.Files {
			pairs = append(pairs, pair{f, "<file of dataset " + v.Name + ">"})
		}
	}
	pairs = append(pairs, pair{cfg.TempDir, "<temp directory>"})
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].path) > len(pairs[j].path) })

	var args []string
	for _, p := range pairs {
		args = append(args, p.path, p.label)
	}
	return strings.NewReplacer(args...)
}
