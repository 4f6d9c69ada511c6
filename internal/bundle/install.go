package bundle

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Install writes the bundle's files to root/<hex digest>/ and returns that
// path, which it also stores in b.Dir. The copy is staged in
// root/.staging-<random>, fsynced, and renamed into place in one step, so
// root/<hex digest> is either absent or complete. Files get mode 0444 or
// 0555, directories 0555, and when moat runs as root every entry is owned
// by uid 0 and gid 0. A job's unprivileged uid can read all of it and write
// none of it. When not running as root, entries keep the caller's owner.
//
// If root/<hex digest> already exists, Install reuses it and discards its
// own copy: it was created by an earlier Install of the same content, so
// concurrent installs of equal bundles, in goroutines or in separate
// processes, all succeed with the same path. root must be writable only by
// moat, because an existing directory there is trusted. Install must not be
// called concurrently on the same *Bundle, since it sets b.Dir.
func (b *Bundle) Install(root string) (string, error) {
	name, err := b.dirName()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create bundle root %q: %w", root, err)
	}

	final := filepath.Join(root, name)
	exists, err := installedDir(final)
	if err != nil {
		return "", err
	}
	if exists {
		return b.finish(final, "reused"), nil
	}

	stage, err := os.MkdirTemp(root, ".staging-")
	if err != nil {
		return "", fmt.Errorf("create staging directory in %q: %w", root, err)
	}
	if err := b.writeTree(stage); err != nil {
		removeStage(stage)
		return "", err
	}
	return b.placeStage(stage, root, final)
}

// placeStage renames the complete copy in stage to final, or discards it
// when another Install of the same content renamed its copy first.
func (b *Bundle) placeStage(stage, root, final string) (string, error) {
	err := os.Rename(stage, final)
	if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		removeStage(stage)
		return b.reuseAfterRace(final)
	}
	if err != nil {
		removeStage(stage)
		return "", fmt.Errorf("install bundle %s at %q: %w", b.Digest, final, err)
	}

	if err := syncDir(root); err != nil {
		return "", err
	}
	return b.finish(final, "installed"), nil
}

func (b *Bundle) reuseAfterRace(final string) (string, error) {
	exists, err := installedDir(final)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", fmt.Errorf("install bundle %s: %q was removed right after a concurrent install: retry", b.Digest, final)
	}
	return b.finish(final, "reused after a concurrent install"), nil
}

// dirName returns the hex digest, which names the installed directory. It
// is checked because Bundle's fields are exported: a hand-made Digest such
// as "sha256:../x" must not reach a path.
func (b *Bundle) dirName() (string, error) {
	name, ok := strings.CutPrefix(b.Digest, "sha256:")
	if _, err := hex.DecodeString(name); !ok || err != nil || len(name) != 64 || strings.ToLower(name) != name {
		return "", fmt.Errorf("install bundle: digest %q is not \"sha256:\" and 64 lowercase hex digits: install only bundles returned by Load", b.Digest)
	}
	if len(b.contents) != len(b.Files) {
		return "", fmt.Errorf("install bundle %s: the bundle has no file contents: install only bundles returned by Load", b.Digest)
	}
	return name, nil
}

// finish records dir as the installed copy and logs outcome.
func (b *Bundle) finish(dir, outcome string) string {
	slog.Info("bundle "+outcome, "digest", b.Digest, "dir", dir, "files", len(b.Files), "bytes", b.Size)
	b.Dir = dir
	return dir
}

// installedDir reports whether dir exists as a real directory. Anything
// else at that path is an error rather than something to replace.
func installedDir(dir string) (bool, error) {
	info, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check installed bundle %q: %w", dir, err)
	case !info.IsDir():
		return false, fmt.Errorf("installed bundle %q exists but is not a directory (it is %s): remove it", dir, info.Mode().Type())
	}
	return true, nil
}

// writeTree writes every file under stage, then seals the directories.
func (b *Bundle) writeTree(stage string) error {
	dirs := []string{"."}
	for i, f := range b.Files {
		parent := path.Dir(f.Path)
		if err := os.MkdirAll(filepath.Join(stage, filepath.FromSlash(parent)), 0o700); err != nil {
			return fmt.Errorf("create directory %q of bundle copy: %w", parent, err)
		}
		for d := parent; d != "."; d = path.Dir(d) {
			dirs = append(dirs, d)
		}

		if err := writeFile(filepath.Join(stage, filepath.FromSlash(f.Path)), b.contents[i], f.Mode); err != nil {
			return err
		}
	}

	// Deepest first, so each directory is complete before it is sealed.
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := sealDir(filepath.Join(stage, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates name, which must not exist, with exactly content and
// mode, owned by root when running as root, and fsyncs it.
func writeFile(name string, content []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("create bundle copy file: %w", err)
	}
	defer f.Close()

	if _, err := f.Write(content); err != nil {
		return fmt.Errorf("write bundle copy file %q: %w", name, err)
	}
	if err := setOwnerAndMode(f, mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync bundle copy file %q: %w", name, err)
	}
	return f.Close()
}

// sealDir fsyncs a directory of the copy and makes it read-only.
func sealDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory of bundle copy: %w", err)
	}
	defer f.Close()

	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %q of bundle copy: %w", dir, err)
	}
	return setOwnerAndMode(f, ModeDir)
}

// setOwnerAndMode gives f to root when running as root, then sets mode.
// Chown comes first because it may clear mode bits. fchmod, unlike the mode
// given to open, is not reduced by the umask.
func setOwnerAndMode(f *os.File, mode fs.FileMode) error {
	if os.Geteuid() == 0 {
		if err := f.Chown(0, 0); err != nil {
			return fmt.Errorf("chown %q of bundle copy to root: %w", f.Name(), err)
		}
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %q of bundle copy: %w", f.Name(), err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open bundle root %q: %w", dir, err)
	}
	defer f.Close()

	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync bundle root %q: %w", dir, err)
	}
	return nil
}

// removeStage deletes a staging directory. Its directories may already be
// sealed read-only, which would stop a non-root caller from deleting their
// entries, so they are made writable first. A failure is logged, not
// returned, because the install's own outcome matters more to the caller.
func removeStage(stage string) {
	_ = filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})

	if err := os.RemoveAll(stage); err != nil {
		slog.Warn("remove bundle staging directory failed; delete it by hand", "dir", stage, "error", err)
	}
}
