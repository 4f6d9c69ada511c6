package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultRootfsDir is RootfsDir when Config leaves it empty.
const DefaultRootfsDir = moatRunDir + "/rootfs"

// A run's user namespace root is an unprivileged host uid, and runc, running
// as that uid, walks down to the run's root by path: RootfsDir and every
// ancestor must let others search them (o+x). Search without read lets a
// uid open a path whose names it has, but not list a directory.

// makeSearchable creates dir with mode 0711 and checks that every ancestor
// lets others search it. It adds o+x to dir's parent, which is moat's own
// state directory, and to /run/moat, and fails on any other ancestor,
// leaving the fix to the operator.
func makeSearchable(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("create rootfs dir %q: %w", dir, err)
	}
	// 0711: others may reach RootfsDir/<id> but not list the run ids.
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("chmod rootfs dir %q: %w", dir, err)
	}

	owned := filepath.Dir(dir)
	for p := owned; ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inspect %q: %w", p, err)
		}
		mode := info.Mode().Perm()
		switch {
		case mode&0o001 != 0:
		case p == owned || p == moatRunDir:
			if err := os.Chmod(p, mode|0o001); err != nil {
				return fmt.Errorf("add o+x to %q: %w", p, err)
			}
		default:
			return fmt.Errorf("rootfs dir %q: ancestor %q has mode %#o, which user namespace roots cannot search: add o+x to it or choose another RootfsDir", dir, p, mode)
		}
		if p == "/" {
			return nil
		}
	}
}

// RootfsDirIn returns the RootfsDir for a moat whose state directory is
// stateDir: stateDir/rootfs when New can make it reachable, that is when
// every ancestor of stateDir lets others search it, is /run/moat, or does
// not exist yet. Otherwise it returns DefaultRootfsDir and an error naming
// the ancestor that others cannot search (New never adds o+x to a
// directory that is not moat's own).
func RootfsDirIn(stateDir string) (string, error) {
	for p := filepath.Dir(filepath.Clean(stateDir)); ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist), p == moatRunDir:
		case err != nil:
			return DefaultRootfsDir, fmt.Errorf("inspect %q: %w", p, err)
		case info.Mode().Perm()&0o001 == 0:
			return DefaultRootfsDir, fmt.Errorf("%q, an ancestor of state directory %q, has mode %#o, which user namespace roots cannot search", p, stateDir, info.Mode().Perm())
		}
		if p == "/" || p == "." {
			return filepath.Join(stateDir, "rootfs"), nil
		}
	}
}
