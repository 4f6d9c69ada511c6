package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	// Registers the pure-Go "sqlite" driver.
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a connection waits for another connection or
// process to release the write lock before it fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// maxOpenConns caps the connections one process holds to the file. Writers
// serialise on the file lock anyway, so more connections only add waiting.
const maxOpenConns = 8

// SQLite is the embedded Store. Several processes may open the same file at
// once: every write runs in a BEGIN IMMEDIATE transaction, so writers take
// the file's write lock up front and wait (up to busyTimeout) for each other
// instead of failing halfway through.
type SQLite struct {
	db  *sql.DB
	log *slog.Logger

	// claimToken names this handle in outbox claims, so an item claimed
	// here can only be completed here.
	claimToken string
}

var _ Store = (*SQLite)(nil)

// Open opens or creates the database file at path, creating its directory
// with mode 0700 and the file with mode 0600 if missing, and applies any
// pending schema migrations.
func Open(ctx context.Context, path string) (*SQLite, error) {
	abs, err := prepareFile(path)
	if err != nil {
		return nil, err
	}

	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", abs, err)
	}
	db.SetMaxOpenConns(maxOpenConns)

	s := &SQLite{db: db, log: slog.Default(), claimToken: newClaimToken()}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate database %q: %w", abs, err)
	}

	s.warnUnlessWAL(ctx, abs)
	return s, nil
}

// Close closes the database handle.
func (s *SQLite) Close() error {
	return s.db.Close()
}

// warnUnlessWAL logs when SQLite left the file in another journal mode.
// Writes stay safe in rollback-journal mode, but readers then wait for
// writers.
func (s *SQLite) warnUnlessWAL(ctx context.Context, path string) {
	var mode string
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		s.log.Warn("cannot read store journal mode", "path", path, "err", err)
		return
	}
	if mode != "wal" {
		s.log.Warn("store is not in WAL mode: readers will wait for writers; put the database on a local file system",
			"path", path, "journal_mode", mode)
	}
}

// prepareFile creates the directory and an empty database file with private
// modes, because the database holds webhook URLs, which often carry tokens.
// SQLite gives its -wal and -shm files the database file's mode.
func prepareFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("database path is empty: pass the path of the state database file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve database path %q: %w", path, err)
	}

	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create database directory %q: %w", dir, err)
	}

	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("open database file %q: %w", abs, err)
	}
	return abs, f.Close()
}

// dsn builds a file: URI, escaping the path so that a '?' or '#' in it
// cannot inject connection parameters.
func dsn(abs string) string {
	u := url.URL{Scheme: "file", Path: abs}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	return u.String() + "?" + q.Encode()
}

func newClaimToken() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return fmt.Sprintf("pid-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
}

// queryer and rowsQueryer are the reads that both *sql.DB and *sql.Tx
// offer, and scanner is what both *sql.Row and *sql.Rows offer.
type (
	queryer interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	rowsQueryer interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	scanner interface {
		Scan(dest ...any) error
	}
)

// write runs fn in one BEGIN IMMEDIATE transaction (the DSN's _txlock) and
// commits it if fn returns nil.
func (s *SQLite) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}

	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}

	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// begin starts a write transaction. SQLite's busy handler does not cover
// every lock conflict: while other processes open a fresh file and switch it
// to WAL mode, BEGIN IMMEDIATE can fail with SQLITE_BUSY at once. Such a
// BEGIN is retried with a short pause until busyTimeout has passed.
func (s *SQLite) begin(ctx context.Context) (*sql.Tx, error) {
	deadline := time.Now().Add(busyTimeout)
	pause := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return tx, err
		}
		s.log.Info("store busy, retrying begin", "attempt", attempt, "err", err)

		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
