package query

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// Defaults applied by Config.withDefaults to zero fields.
const (
	DefaultMemoryBytes      = 256 << 20
	DefaultThreads          = 1
	DefaultMaxTempBytes     = 256 << 20
	DefaultStatementTimeout = 10 * time.Second
	DefaultMaxRows          = 10000
	DefaultMaxBytes         = 8 << 20
	DefaultInterruptGrace   = 2 * time.Second
)

// View is one dataset a run may query. Name is the dataset name; a name with
// a dot ("ethereum.transactions") becomes a view in a schema of that name.
// Files are the absolute paths of the dataset's Parquet files; they are the
// only files the engine can read.
type View struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
}

// Config sets up one engine. Zero numeric fields take the defaults above.
type Config struct {
	Views []View `json:"views"`
	// MemoryBytes is DuckDB's memory_limit.
	MemoryBytes int64 `json:"memory_bytes"`
	// Threads is DuckDB's threads setting.
	Threads int `json:"threads"`
	// TempDir is the spill directory. The caller creates it inside the run's
	// state directory and removes it after the run. Required.
	TempDir string `json:"temp_dir"`
	// MaxTempBytes is DuckDB's max_temp_directory_size.
	MaxTempBytes int64 `json:"max_temp_bytes"`
	// StatementTimeout bounds one query from the request until its last row
	// is delivered.
	StatementTimeout time.Duration `json:"statement_timeout"`
	// MaxRows caps the rows of one result.
	MaxRows int64 `json:"max_rows"`
	// MaxBytes caps the bytes of one result as JSON lines, newlines included.
	MaxBytes int64 `json:"max_bytes"`
	// InterruptGrace is how long the client waits for the engine's done
	// frame after the statement timeout or a cancellation before it kills
	// the engine process.
	InterruptGrace time.Duration `json:"interrupt_grace"`
}

func (c Config) withDefaults() Config {
	if c.MemoryBytes == 0 {
		c.MemoryBytes = DefaultMemoryBytes
	}
	if c.Threads == 0 {
		c.Threads = DefaultThreads
	}
	if c.MaxTempBytes == 0 {
		c.MaxTempBytes = DefaultMaxTempBytes
	}
	if c.StatementTimeout == 0 {
		c.StatementTimeout = DefaultStatementTimeout
	}
	if c.MaxRows == 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.InterruptGrace == 0 {
		c.InterruptGrace = DefaultInterruptGrace
	}
	return c
}

// validate checks a config after withDefaults. Every path must be absolute
// and clean because it goes verbatim into allowed_paths, which DuckDB
// compares as strings.
func (c Config) validate() error {
	if c.MemoryBytes < 0 || c.Threads < 0 || c.MaxTempBytes < 0 || c.StatementTimeout < 0 ||
		c.MaxRows < 0 || c.MaxBytes < 0 || c.InterruptGrace < 0 {
		return fmt.Errorf("invalid query engine config: limits must not be negative")
	}

	if err := checkPath("temp_dir", c.TempDir); err != nil {
		return err
	}

	seen := map[string]bool{}
	for _, v := range c.Views {
		if err := ids.ValidateDataset(v.Name); err != nil {
			return fmt.Errorf("invalid query engine view: %w", err)
		}
		if seen[v.Name] {
			return fmt.Errorf("invalid query engine config: view %q is listed twice", v.Name)
		}
		seen[v.Name] = true

		if len(v.Files) == 0 {
			return fmt.Errorf("invalid query engine view %q: it has no files; import data into the dataset first", v.Name)
		}
		for _, f := range v.Files {
			if err := checkPath("file of view "+v.Name, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkPath(what, path string) error {
	if path == "" {
		return fmt.Errorf("invalid query engine config: %s is empty", what)
	}
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return fmt.Errorf("invalid query engine config: %s %q must be an absolute, clean path", what, path)
	}
	// Glob characters would let DuckDB expand one allowed pattern into many
	// files; the engine grants exact files only.
	if strings.ContainsAny(path, "*?[]{}\x00") {
		return fmt.Errorf("invalid query engine config: %s %q contains a glob character or NUL; rename the file", what, path)
	}
	return nil
}
