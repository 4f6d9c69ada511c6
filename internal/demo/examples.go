package demo

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moatdev/moat/examples"
)

// exampleBundles are the host paths of the demo's bundles.
type exampleBundles struct {
	largeTransfers string
	hostile        string
}

// materializeExamples writes the embedded example bundles under dir. The
// hostile bundle gets a target.json that names the receiver's address and
// the other org's dataset file, so its attacks aim at things that exist.
func materializeExamples(dir, receiver, otherOrgFile string) (exampleBundles, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return exampleBundles{}, nil, err
	}
	tmp, err := os.MkdirTemp(dir, "demo-")
	if err != nil {
		return exampleBundles{}, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }

	for _, name := range []string{"large-transfers", "hostile"} {
		if err := copyTree(name, filepath.Join(tmp, name)); err != nil {
			cleanup()
			return exampleBundles{}, nil, err
		}
	}

	target, _ := json.MarshalIndent(map[string]string{
		"host_tcp":           receiver,
		"other_org":          orgGlobex,
		"other_dataset_file": otherOrgFile,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "hostile", "target.json"), target, 0o644); err != nil {
		cleanup()
		return exampleBundles{}, nil, err
	}

	return exampleBundles{
		largeTransfers: filepath.Join(tmp, "large-transfers"),
		hostile:        filepath.Join(tmp, "hostile"),
	}, cleanup, nil
}

// copyTree copies one embedded directory to dst.
func copyTree(src, dst string) error {
	return fs.WalkDir(examples.FS, src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := examples.FS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// writeWatchlist writes the org's demo watchlist CSV and returns its path.
func writeWatchlist(dataDir, org string) (string, error) {
	data, err := examples.FS.ReadFile("data/" + org + "-watchlist.csv")
	if err != nil {
		return "", fmt.Errorf("demo watchlist of org %s: %w", org, err)
	}
	dir := filepath.Join(dataDir, "examples")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, org+"-watchlist.csv")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}
