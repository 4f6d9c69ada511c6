package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema changes, named NNNN_description.sql. A
// migration is never edited once released: add a new file instead.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded migrations sorted by version.
func loadMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}

	var out []migration
	for _, e := range entries {
		m, err := loadMigration(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}

	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q has version %d, expected %d: versions must be 1, 2, 3, ... without gaps", m.name, m.version, i+1)
		}
	}
	return out, nil
}

func loadMigration(name string) (migration, error) {
	prefix, _, ok := strings.Cut(name, "_")
	version, err := strconv.Atoi(prefix)
	if !ok || err != nil || version < 1 {
		return migration{}, fmt.Errorf("migration file %q is misnamed: use NNNN_description.sql", name)
	}

	body, err := migrationFiles.ReadFile(path.Join("migrations", name))
	if err != nil {
		return migration{}, fmt.Errorf("read migration %q: %w", name, err)
	}
	return migration{version: version, name: name, sql: string(body)}, nil
}

// migrate applies the migrations this database lacks, each in its own
// immediate transaction. A process that loses the race for the write lock
// waits, then finds the version recorded and skips it, so several processes
// opening one fresh file at once apply each migration exactly once.
func (s *SQLite) migrate(ctx context.Context) error {
	migrations, err := loadMigrations()
	if err != nil {
		return err
	}

	err = s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TEXT NOT NULL
		) STRICT`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	if err := s.checkNotNewer(ctx, len(migrations)); err != nil {
		return err
	}

	for _, m := range migrations {
		if err := s.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// checkNotNewer rejects a database migrated by a newer moat, whose schema
// this binary does not know how to use safely.
func (s *SQLite) checkNotNewer(ctx context.Context, known int) error {
	var current sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&current)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current.Int64 > int64(known) {
		return fmt.Errorf("database schema version %d is newer than this moat binary supports (%d): upgrade moat", current.Int64, known)
	}
	return nil
}

func (s *SQLite) applyMigration(ctx context.Context, m migration) error {
	applied := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n)
		if err != nil || n > 0 {
			return err
		}

		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, formatTime(time.Now()))
		applied = err == nil
		return err
	})
	if err != nil {
		return fmt.Errorf("apply migration %q: %w", m.name, err)
	}

	if applied {
		s.log.Info("applied store migration", "version", m.version, "name", m.name)
	}
	return nil
}
