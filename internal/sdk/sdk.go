// Package sdk ships the job-side Python client (moat_job.py) inside the moat
// binary, so every python3 sandbox gets the same version as the gateway it
// talks to.
package sdk

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed python/moat_job.py
var pythonClient []byte

// PythonClient returns the source of moat_job.py.
func PythonClient() []byte { return pythonClient }

// WritePython writes moat_job.py into dir (created 0755 if missing) as a
// read-only file and returns dir. The sandbox mounts dir read-only and puts
// it on PYTHONPATH.
func WritePython(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create sdk dir %q: %w", dir, err)
	}

	// Several moat processes may write the same file at once: each writes a
	// private temporary file and renames it into place.
	tmp, err := os.CreateTemp(dir, ".moat_job-*.py")
	if err != nil {
		return "", fmt.Errorf("create temporary sdk file in %q: %w", dir, err)
	}
	defer os.Remove(tmp.Name())

	if _, err := tmp.Write(pythonClient); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write %q: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return "", fmt.Errorf("chmod %q: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("close %q: %w", tmp.Name(), err)
	}

	path := filepath.Join(dir, "moat_job.py")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("install %q: %w", path, err)
	}
	return dir, nil
}
