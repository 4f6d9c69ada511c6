package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/moatdev/moat/internal/manifest"
)

const (
	// maxDepth bounds how deeply directories nest. The walk keeps one
	// descriptor open per level, so this also bounds open descriptors.
	maxDepth = 32
	// maxPathBytes keeps every installed path well inside PATH_MAX (4096)
	// once it is joined to the installation root.
	maxPathBytes = 1024
	// readdirBatch is how many names are read from a directory at a time,
	// so that a huge directory is rejected before all its names are held.
	readdirBatch = 256
)

// entry is one file read by the walk.
type entry struct {
	file    File
	content []byte
}

// walker reads a bundle's tree and enforces the limits as it goes.
type walker struct {
	limits  Limits
	entries int
	total   int64
	files   []entry
}

// Load reads the bundle in dir and validates it: every file is read into
// memory and hashed, moat.yaml is parsed with manifest.Parse against
// maximums, and the entrypoint must be a file of the bundle (executable for
// runtime binary). dir itself must not be a symbolic link.
//
// Rejections of the bundle's content wrap ErrInvalid, and those for
// exceeding limits also wrap ErrTooLarge. A manifest rejection also wraps
// manifest.ErrInvalid and contains a *manifest.ValidationError.
func Load(dir string, limits Limits, maximums manifest.Maximums) (*Bundle, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	if err := maximums.Validate(); err != nil {
		return nil, err
	}

	dirFD, err := openTop(dir)
	if err != nil {
		return nil, err
	}
	w := &walker{limits: limits}
	if err := w.walkDir(dirFD, "", 0); err != nil {
		return nil, err
	}

	slices.SortFunc(w.files, func(a, b entry) int { return strings.Compare(a.file.Path, b.file.Path) })
	b := &Bundle{Size: w.total}
	for _, e := range w.files {
		b.Files = append(b.Files, e.file)
		b.contents = append(b.contents, e.content)
	}
	b.Digest = digestOf(b.Files)

	if err := b.checkManifest(maximums); err != nil {
		return nil, err
	}
	return b, nil
}

// openTop opens the bundle's top directory without following a symbolic
// link in its last component.
func openTop(dir string) (int, error) {
	clean := filepath.Clean(dir)

	fd, err := unix.Open(clean, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		// With O_DIRECTORY, Linux reports a symbolic link as ENOTDIR.
		var st unix.Stat_t
		if unix.Lstat(clean, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, fmt.Errorf("%w: bundle directory %q is a symbolic link: give the path of the directory itself", ErrInvalid, dir)
		}
		return -1, fmt.Errorf("%w: bundle directory %q is not a directory: give the directory that contains moat.yaml", ErrInvalid, dir)
	case err != nil:
		return -1, fmt.Errorf("open bundle directory %q: %w", dir, err)
	}
	return fd, nil
}

// walkDir reads the directory open at dirFD, whose path in the bundle is
// prefix, and takes ownership of dirFD. Each entry is classified with
// fstatat(AT_SYMLINK_NOFOLLOW) and opened relative to dirFD with O_NOFOLLOW,
// so a symbolic link anywhere is rejected, never followed, even if it
// replaces a checked entry while the walk runs.
func (w *walker) walkDir(dirFD int, prefix string, depth int) error {
	dir := os.NewFile(uintptr(dirFD), prefix)
	defer dir.Close()

	names, err := w.readNames(dir, prefix)
	if err != nil {
		return err
	}

	for _, name := range names {
		rel := path.Join(prefix, name)
		if err := checkName(rel); err != nil {
			return err
		}

		var st unix.Stat_t
		if err := unix.Fstatat(dirFD, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %q in bundle: %w", rel, err)
		}

		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			err = w.readFile(dirFD, name, rel)
		case unix.S_IFDIR:
			err = w.enterDir(dirFD, name, rel, depth+1)
		default:
			err = rejectType(rel, st.Mode)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readNames returns the names in dir, counting each against MaxFiles as it
// is read.
func (w *walker) readNames(dir *os.File, prefix string) ([]string, error) {
	var names []string
	for {
		batch, err := dir.Readdirnames(readdirBatch)

		w.entries += len(batch)
		if w.entries > w.limits.MaxFiles {
			return nil, fmt.Errorf("%w: the bundle has more than %d files and directories (the entry limit): remove files, or ask an operator to raise the limit", ErrTooLarge, w.limits.MaxFiles)
		}
		names = append(names, batch...)

		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read directory %q of bundle: %w", displayDir(prefix), err)
		}
	}

	// Sorted so that the first problem reported does not depend on the
	// order of entries on disk.
	slices.Sort(names)
	return names, nil
}

func (w *walker) enterDir(parentFD int, name, rel string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: directory %q is nested more than %d levels deep: flatten the bundle's layout", ErrInvalid, rel, maxDepth)
	}

	fd, err := unix.Openat(parentFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%w: %q changed while the bundle was read: stop writing to the bundle while it is uploaded", ErrInvalid, rel)
	case err != nil:
		return fmt.Errorf("open directory %q of bundle: %w", rel, err)
	}
	return w.walkDir(fd, rel, depth)
}

// readFile reads one regular file through a descriptor, checking its type
// and size on that descriptor so that a swapped entry cannot slip through.
func (w *walker) readFile(parentFD int, name, rel string) error {
	// O_NONBLOCK keeps the open from hanging if a named pipe replaced the
	// file after fstatat; fstat below then rejects it.
	fd, err := unix.Openat(parentFD, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return rejectType(rel, unix.S_IFLNK)
	}
	if err != nil {
		return fmt.Errorf("open %q in bundle: %w", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q in bundle: %w", rel, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return rejectType(rel, st.Mode)
	}
	if st.Size > w.limits.MaxFileBytes {
		return w.fileTooLarge(rel)
	}

	content, err := w.readCapped(f, rel)
	if err != nil {
		return err
	}

	mode := ModeFile
	if st.Mode&0o111 != 0 {
		mode = ModeExecutable
	}
	sum := sha256.Sum256(content)
	w.files = append(w.files, entry{
		file:    File{Path: rel, Mode: mode, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])},
		content: content,
	})
	return nil
}

// readCapped reads at most one byte more than either limit allows, so a
// file that grows while it is read is caught without reading it whole.
func (w *walker) readCapped(f *os.File, rel string) ([]byte, error) {
	remaining := w.limits.MaxTotalBytes - w.total
	capacity := min(w.limits.MaxFileBytes, remaining)

	content, err := io.ReadAll(io.LimitReader(f, capacity+1))
	if err != nil {
		return nil, fmt.Errorf("read %q in bundle: %w", rel, err)
	}

	size := int64(len(content))
	switch {
	case size > w.limits.MaxFileBytes:
		return nil, w.fileTooLarge(rel)
	case size > remaining:
		return nil, fmt.Errorf("%w: the files add up to more than the total limit of %d bytes (reached at %q): remove files, or put large data in a dataset and read it through the gateway", ErrTooLarge, w.limits.MaxTotalBytes, rel)
	}

	w.total += size
	return content, nil
}

func (w *walker) fileTooLarge(rel string) error {
	return fmt.Errorf("%w: file %q is larger than the per-file limit of %d bytes: shrink it, or put large data in a dataset and read it through the gateway", ErrTooLarge, rel, w.limits.MaxFileBytes)
}

// checkName rejects paths that would make the canonical file list
// ambiguous (a newline could forge a second line) or that are too long to
// install.
func checkName(rel string) error {
	if !utf8.ValidString(rel) || strings.ContainsFunc(rel, unicode.IsControl) {
		return fmt.Errorf("%w: path %q contains a control character or invalid UTF-8: rename it", ErrInvalid, rel)
	}
	if len(rel) > maxPathBytes {
		return fmt.Errorf("%w: path %q is %d bytes long, above the limit of %d: use shorter names", ErrInvalid, rel, len(rel), maxPathBytes)
	}
	return nil
}

// rejectType returns the rejection for an entry that is neither a regular
// file nor a directory.
func rejectType(rel string, mode uint32) error {
	switch mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return fmt.Errorf("%w: %q is a symbolic link, and bundles may not contain links: replace it with a regular file (a copy of what it points to)", ErrInvalid, rel)
	case unix.S_IFIFO:
		return fmt.Errorf("%w: %q is a named pipe (FIFO): bundles contain only regular files and directories, so remove it", ErrInvalid, rel)
	case unix.S_IFSOCK:
		return fmt.Errorf("%w: %q is a socket: bundles contain only regular files and directories, so remove it", ErrInvalid, rel)
	case unix.S_IFCHR, unix.S_IFBLK:
		return fmt.Errorf("%w: %q is a device file: bundles contain only regular files and directories, so remove it", ErrInvalid, rel)
	}
	return fmt.Errorf("%w: %q has file type %#o, which is neither a regular file nor a directory: remove it", ErrInvalid, rel, mode&unix.S_IFMT)
}

func displayDir(prefix string) string {
	if prefix == "" {
		return "."
	}
	return prefix
}
