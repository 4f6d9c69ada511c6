package bundle

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/moatdev/moat/internal/manifest"
)

const pythonManifest = `name: large-transfers
kind: alert
runtime: python3
entrypoint: main.py
inputs: [ethereum.transactions]
`

// testFile is one file a test writes into a bundle directory.
type testFile struct {
	content string
	mode    os.FileMode
}

// writeBundle creates a bundle directory with files, keyed by
// slash-separated path, and returns it.
func writeBundle(t *testing.T, files map[string]testFile) string {
	t.Helper()
	dir := t.TempDir()
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.content), 0o600); err != nil {
			t.Fatal(err)
		}
		// Chmod after writing, because WriteFile's mode is reduced by the
		// umask.
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// standardFiles returns a valid Python bundle with a subdirectory and a
// dotfile.
func standardFiles() map[string]testFile {
	return map[string]testFile{
		"moat.yaml":   {pythonManifest, 0o644},
		"main.py":     {"print('hello')\n", 0o644},
		"lib/util.py": {"X = 1\n", 0o600},
		"bin/tool":    {"#!/bin/sh\n", 0o750},
		".env":        {"A=1\n", 0o644},
	}
}

// installRoot returns a directory for Install. The copies Install seals
// read-only there are made writable again when the test ends, so that
// t.TempDir can remove them when the test does not run as root.
func installRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t.Cleanup(func() {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
	})
	return root
}

func load(dir string) (*Bundle, error) {
	return Load(dir, DefaultLimits(), manifest.DefaultMaximums())
}

func mustLoad(t *testing.T, dir string) *Bundle {
	t.Helper()
	b, err := load(dir)
	if err != nil {
		t.Fatalf("Load(%q): %v", dir, err)
	}
	return b
}
