package store

import (
	"context"
	"path/filepath"
	"testing"
)

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	ctx := context.Background()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureOrg(ctx, testActor, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	if _, err := s.GetOrg(ctx, "acme"); err != nil {
		t.Errorf("org lost across reopen: %v", err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	all, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(all) {
		t.Errorf("schema_migrations has %d rows after reopen, want one per migration (%d)", n, len(all))
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	ctx := context.Background()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(ctx, path)
	wantErr(t, err, nil, "database schema version 99 is newer", "upgrade moat")
}

func TestLoadMigrationsOrdered(t *testing.T) {
	migrations, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) == 0 || migrations[0].version != 1 || migrations[0].name != "0001_init.sql" {
		t.Errorf("migrations = %+v, want 0001_init.sql first", migrations)
	}
}
