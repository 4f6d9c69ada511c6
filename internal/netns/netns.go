// Package netns creates named network namespaces that contain only a
// loopback interface, and opens TCP listeners inside them.
//
// A run's sandbox joins such a namespace, so the job can reach exactly the
// listeners the worker opened in it (gateway, proxy) and nothing else: the
// namespace has no route to the host or any other network.
//
// Namespaces are bind-mounted at /var/run/netns/NAME, the directory
// iproute2 uses, so `ip netns list` shows them. Every name starts with
// "moat-", so List and cleanup never touch namespaces moat did not create.
package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is the directory in which named network namespaces are bind-mounted.
const Dir = "/var/run/netns"

// Prefix starts every namespace name moat creates.
const Prefix = "moat-"

// ErrInvalidName is wrapped by the errors for a name without Prefix or with
// characters outside [a-z0-9_-].
var ErrInvalidName = errors.New("invalid network namespace name")

var namePattern = regexp.MustCompile(`^moat-[a-z0-9_-]{1,58}$`)

// ValidateName checks that name starts with "moat-" and is path-safe.
func ValidateName(name string) error {
	if namePattern.MatchString(name) {
		return nil
	}
	return fmt.Errorf("%w: %q: use %q followed by 1 to 58 lowercase letters, digits, '-' or '_'", ErrInvalidName, name, Prefix)
}

// Path returns the bind-mount path of the namespace name.
func Path(name string) string { return filepath.Join(Dir, name) }

// Create makes a new network namespace with only lo (up), bind-mounts it at
// Path(name) and returns that path. It fails if the name exists.
func Create(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if err := ensureDir(); err != nil {
		return "", err
	}

	target := Path(name)
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return "", fmt.Errorf("create network namespace %q: %w", name, err)
	}
	f.Close()

	if err := withNewNetns(func(threadNs string) error {
		if err := unix.Mount(threadNs, target, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mount network namespace at %q: %w", target, err)
		}
		return loopbackUp()
	}); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		_ = os.Remove(target)
		return "", fmt.Errorf("create network namespace %q: %w", name, err)
	}
	return target, nil
}

// Delete unmounts and removes the namespace name. A namespace that does
// not exist is not an error. The namespace itself is freed by the kernel
// once no process and no open descriptor (a listener) refers to it.
func Delete(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}

	target := Path(name)
	err := unix.Unmount(target, unix.MNT_DETACH)
	// EINVAL: the file exists but is not a mount point (a half-done Create).
	if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("delete network namespace %q: unmount: %w", name, err)
	}

	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete network namespace %q: %w", name, err)
	}
	return nil
}

// List returns the names in Dir that start with prefix, sorted.
func List(prefix string) ([]string, error) {
	entries, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}

	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ensureDir creates Dir and makes it a shared mount point, as iproute2
// does, so that unmounting a namespace in Delete also removes the copies of
// its bind mount in mount namespaces created meanwhile (which would
// otherwise keep the namespace alive).
func ensureDir() error {
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return fmt.Errorf("create %q: %w", Dir, err)
	}

	err := unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		// Not a mount point yet: bind it onto itself, then share it.
		if err := unix.Mount(Dir, Dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %q onto itself: %w", Dir, err)
		}
		err = unix.Mount("", Dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %q a shared mount: %w", Dir, err)
	}
	return nil
}
