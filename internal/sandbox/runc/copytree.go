package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// maxCopyDepth bounds the directory nesting copyTree follows; bundles are
// limited to 32 levels by package bundle.
const maxCopyDepth = 64

// copyBuffers holds the buffers of copyFile.
var copyBuffers = sync.Pool{New: func() any {
	buf := make([]byte, 64<<10)
	return &buf
}}

// treeSize is the space a copy of a file tree takes on a tmpfs.
type treeSize struct {
	// bytes is the sum of the file sizes, each rounded up to whole pages.
	bytes int64
	// entries counts files and directories, the top one included.
	entries int64
}

func (s treeSize) add(o treeSize) treeSize {
	return treeSize{bytes: s.bytes + o.bytes, entries: s.entries + o.entries}
}

// measureTree returns the size of a copy of the file or directory src. It
// never follows a symbolic link and rejects what copyTree rejects: anything
// that is neither a regular file nor a directory. Entries that vanish while
// it walks are skipped, as copyTree skips them.
func measureTree(src string, pageSize int64) (treeSize, error) {
	var size treeSize
	err := filepath.WalkDir(src, func(p string, entry fs.DirEntry, err error) error {
		if err != nil {
			if p != src && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := entry.Info()
		if p != src && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}

		switch {
		case info.Mode().IsRegular():
			size.bytes += (info.Size() + pageSize - 1) / pageSize * pageSize
		case info.IsDir():
		default:
			return rejectCopyType(p, info.Mode())
		}
		size.entries++
		return nil
	})
	if err != nil {
		return treeSize{}, fmt.Errorf("measure %q: %w", src, err)
	}
	return size, nil
}

// copyTree copies the file or directory src to the entry name of the
// directory open at dstDirFD, which must not exist yet. It keeps the
// permission bits (setuid, setgid and sticky dropped) and gives every copy
// to moat's own user. Every source entry is opened with O_NOFOLLOW and
// checked through its descriptor, so a symbolic link is rejected, never
// followed, even one that replaces a checked entry during the copy.
func copyTree(src string, dstDirFD int, name string) error {
	fd, err := unix.Open(src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return rejectCopyType(src, fs.ModeSymlink)
	}
	if err != nil {
		return fmt.Errorf("open %q to copy it: %w", src, err)
	}
	return copyEntry(fd, src, dstDirFD, name, 0)
}

// copyEntry copies the open source srcFD, whose path srcPath is used in
// messages, and closes srcFD.
func copyEntry(srcFD int, srcPath string, dstDirFD int, name string, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstat(srcFD, &st); err != nil {
		unix.Close(srcFD)
		return fmt.Errorf("stat %q: %w", srcPath, err)
	}
	perm := uint32(st.Mode & 0o777)

	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		defer unix.Close(srcFD)
		return copyFile(srcFD, srcPath, dstDirFD, name, perm)
	case unix.S_IFDIR:
		src := os.NewFile(uintptr(srcFD), srcPath)
		defer src.Close()
		if depth >= maxCopyDepth {
			return fmt.Errorf("directory %q is nested more than %d levels deep: flatten it", srcPath, maxCopyDepth)
		}
		return copyDir(src, dstDirFD, name, perm, depth)
	default:
		unix.Close(srcFD)
		return rejectCopyType(srcPath, typeBits(st.Mode))
	}
}

// copyFile copies the regular file open at srcFD to a new file name in
// dstDirFD. It uses plain read and write calls on raw descriptors: between
// a disk and a tmpfs, copy_file_range and sendfile fail, and each os.File
// would cost extra fcntl and epoll calls.
func copyFile(srcFD int, srcPath string, dstDirFD int, name string, perm uint32) error {
	dstFD, err := unix.Openat(dstDirFD, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create copy of %q: %w", srcPath, err)
	}
	defer unix.Close(dstFD)

	buf := copyBuffers.Get().(*[]byte)
	err = copyFD(dstFD, srcFD, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return fmt.Errorf("copy %q: %w", srcPath, err)
	}

	// Fchmod after creating: the mode given to openat is reduced by the
	// umask.
	if err := unix.Fchmod(dstFD, perm); err != nil {
		return fmt.Errorf("chmod copy of %q: %w", srcPath, err)
	}
	return nil
}

// copyFD copies from srcFD to dstFD until end of file.
func copyFD(dstFD, srcFD int, buf []byte) error {
	for {
		n, err := unix.Read(srcFD, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for chunk := buf[:n]; len(chunk) > 0; {
			written, err := unix.Write(dstFD, chunk)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return err
			}
			chunk = chunk[written:]
		}
	}
}

// copyDir creates the directory name in dstDirFD and copies the entries of
// src into it, sorted by name.
func copyDir(src *os.File, dstDirFD int, name string, perm uint32, depth int) error {
	if err := unix.Mkdirat(dstDirFD, name, 0o700); err != nil {
		return fmt.Errorf("create copy of %q: %w", src.Name(), err)
	}
	fd, err := unix.Openat(dstDirFD, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open copy of %q: %w", src.Name(), err)
	}
	defer unix.Close(fd)

	names, err := src.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read directory %q: %w", src.Name(), err)
	}
	slices.Sort(names)

	for _, child := range names {
		childPath := filepath.Join(src.Name(), child)
		childFD, err := unix.Openat(int(src.Fd()), child, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		switch {
		case errors.Is(err, unix.ENOENT):
			// Removed since the directory was read, such as a temporary
			// file of a concurrent SDK install.
			continue
		case errors.Is(err, unix.ELOOP):
			return rejectCopyType(childPath, fs.ModeSymlink)
		case err != nil:
			return fmt.Errorf("open %q to copy it: %w", childPath, err)
		}
		if err := copyEntry(childFD, childPath, fd, child, depth+1); err != nil {
			return err
		}
	}
	return unix.Fchmod(fd, perm)
}

// typeBits converts the file type bits of a stat mode to fs.FileMode.
func typeBits(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

func rejectCopyType(p string, mode fs.FileMode) error {
	return fmt.Errorf("%q is a %s, but a sandbox root holds only regular files and directories: remove it from the bundle or mount source", p, typeName(mode))
}

func typeName(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		return "symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
