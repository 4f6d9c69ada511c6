package runc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moatdev/moat/internal/sandbox"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A run's root is a tmpfs of its own, mounted by moat at RootfsDir/<id>
// and filled before the container starts: the mount points, the symlinks
// into /usr, the generated /etc, a copy of the bundle at /job and copies of
// Spec.Mounts. The only bind mount with a host source is then /usr (plus
// /bin, /lib... on hosts without merged /usr), whose source path equals its
// path inside. A bind mount's root field in /proc/self/mountinfo is its
// source path on the host, so binding /etc, /job or the SDK would show the
// job the state directory, the data directory, the run id and the bundle
// digest.

const (
	// rootfsMarginBytes is tmpfs space beyond the copied files: directory
	// entries and long symlinks, which tmpfs may count in pages.
	rootfsMarginBytes = 1 << 20
	// rootfsMarginInodes covers the mount points, symlinks and /etc.
	rootfsMarginInodes = 256
	// maxRootfsBytes rejects a bundle or mount source far larger than
	// package bundle allows (64 MiB in total by default): its copy would
	// take host memory outside the job's cgroup.
	maxRootfsBytes = 256 << 20
)

// emptyMountPoints are the directories of the tmpfs root that runc mounts
// over.
var emptyMountPoints = []string{"usr", "tmp", "proc", "dev"}

// rootfsSize returns the size and inode count of the tmpfs that holds
// spec's root, rejecting bundles and mount sources that hold anything but
// regular files and directories.
func rootfsSize(spec sandbox.Spec) (treeSize, error) {
	pageSize := int64(os.Getpagesize())

	total, err := measureTree(spec.BundleDir, pageSize)
	if err != nil {
		return treeSize{}, err
	}
	for _, m := range spec.Mounts {
		size, err := measureTree(m.Source, pageSize)
		if err != nil {
			return treeSize{}, err
		}
		total = total.add(size)
	}

	etc := int64(len(etcFiles(spec.UID, spec.GID)))
	total = total.add(treeSize{bytes: etc*pageSize + rootfsMarginBytes, entries: etc + rootfsMarginInodes})
	if total.bytes > maxRootfsBytes {
		return treeSize{}, fmt.Errorf("the bundle %q and the extra mounts hold %d bytes, more than the %d a sandbox root may copy: make the bundle smaller", spec.BundleDir, total.bytes, maxRootfsBytes)
	}
	return total, nil
}

// buildRootfs mounts a tmpfs at d.rootfs and fills it with spec's root,
// then makes the mount read-only. It returns the bind mounts of top-level
// host directories that are real directories (hosts without merged /usr).
// The caller removes d.rootfs, mount included, on every path.
func buildRootfs(d runDirs, spec sandbox.Spec) ([]specs.Mount, error) {
	size, err := rootfsSize(spec)
	if err != nil {
		return nil, err
	}

	// 0700: the directory underneath is never seen once the tmpfs, whose
	// root is 0755, is mounted on it.
	if err := os.Mkdir(d.rootfs, 0o700); err != nil {
		return nil, fmt.Errorf("create rootfs mount point: %w", err)
	}
	if err := mountTmpfs(d.rootfs, size); err != nil {
		return nil, err
	}

	extra, err := fillRootfs(d.rootfs, spec)
	if err != nil {
		return nil, err
	}

	if err := sealTmpfs(d.rootfs); err != nil {
		return nil, err
	}
	return extra, nil
}

// fillRootfs creates the root's directories, symlinks and files in the
// empty tmpfs at rootfs.
func fillRootfs(rootfs string, spec sandbox.Spec) ([]specs.Mount, error) {
	for _, name := range emptyMountPoints {
		if err := os.Mkdir(filepath.Join(rootfs, name), 0o755); err != nil {
			return nil, fmt.Errorf("create mount point: %w", err)
		}
	}

	extra, err := mirrorHostRootDirs(rootfs)
	if err != nil {
		return nil, err
	}

	etc := filepath.Join(rootfs, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		return nil, fmt.Errorf("create /etc: %w", err)
	}
	if err := writeEtc(etc, spec.UID, spec.GID); err != nil {
		return nil, err
	}

	if err := copyInto(rootfs, "/job", spec.BundleDir); err != nil {
		return nil, err
	}
	for _, m := range spec.Mounts {
		if err := copyInto(rootfs, m.Destination, m.Source); err != nil {
			return nil, err
		}
	}
	return extra, nil
}

// copyInto copies the host file or directory src to the absolute path
// destination inside rootfs, creating its missing parents with mode 0755.
// validateSpec has kept destination away from the symlinks into /usr.
func copyInto(rootfs, destination, src string) error {
	rootFD, err := unix.Open(rootfs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(rootFD)

	parts := strings.Split(strings.TrimPrefix(destination, "/"), "/")
	parentFD, err := mkdirAllAt(rootFD, parts[:len(parts)-1])
	if err != nil {
		return fmt.Errorf("create parents of %q: %w", destination, err)
	}
	defer unix.Close(parentFD)

	if err := copyTree(src, parentFD, parts[len(parts)-1]); err != nil {
		return fmt.Errorf("copy %q to %q in the sandbox root: %w", src, destination, err)
	}
	return nil
}

// mkdirAllAt creates the directories names below dirFD, one inside the
// next, without following symlinks, and returns a descriptor of the last
// (a duplicate of dirFD when names is empty).
func mkdirAllAt(dirFD int, names []string) (int, error) {
	fd, err := unix.Dup(dirFD)
	if err != nil {
		return -1, err
	}
	for _, name := range names {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return -1, err
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// mountTmpfs mounts a tmpfs of the given size at dir. nosuid and nodev
// carry over into the container; exec stays, as bundles may ship their own
// binaries. The mount is made private so that it never propagates into
// other mount namespaces, nor mounts from them into it.
func mountTmpfs(dir string, size treeSize) error {
	options := fmt.Sprintf("size=%d,nr_inodes=%d,mode=0755", size.bytes, size.entries)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, options); err != nil {
		return fmt.Errorf("mount tmpfs at %q (%s): %w", dir, options, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make tmpfs at %q private: %w", dir, err)
	}
	return nil
}

// sealTmpfs makes the filled tmpfs at dir read-only, on top of runc's
// read-only root (root.readonly). A user namespace's copy of a read-only
// host mount is locked read-only, so even the namespace's root cannot
// make it writable.
func sealTmpfs(dir string) error {
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV)
	if err := unix.Mount("", dir, "", flags, ""); err != nil {
		return fmt.Errorf("make tmpfs at %q read-only: %w", dir, err)
	}
	return nil
}
