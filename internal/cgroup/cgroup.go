// Package cgroup reads the usage of one sandbox's cgroup, kills every process
// in it and removes it, on cgroup v1 (one mount per controller, as on hybrid
// hosts) and on cgroup v2 (the unified hierarchy).
//
// A Group is addressed by a path relative to the hierarchy roots, for example
// "/moat/r-0123456789abcdef". On v1 the same relative path exists under every
// mounted controller (runc creates it in all of them, named hierarchies such
// as name=systemd and the hybrid cgroup2 mount included); Remove and Pids
// cover all of them.
package cgroup

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrInvalidPath is wrapped by the errors of Hierarchy.Group for a path that
// is not absolute and clean.
var ErrInvalidPath = errors.New("invalid cgroup path")

// Stats is the resource usage of a cgroup's processes over its lifetime.
type Stats struct {
	// CPUSeconds is user plus system CPU time.
	CPUSeconds float64
	// PeakMemoryBytes is the high-water mark of the memory counter, page
	// cache and tmpfs pages included.
	PeakMemoryBytes int64
	// OOMKills counts processes the kernel OOM killer ended in the cgroup.
	OOMKills int64
	// PidsHits counts fork/clone calls rejected by the pids limit.
	PidsHits int64
}

// Group is one cgroup.
type Group interface {
	// Path returns the path relative to the hierarchy roots.
	Path() string
	// Exists reports whether the cgroup directory exists in any hierarchy.
	Exists() bool
	// Stats reads the usage counters. They survive until Remove.
	Stats() (Stats, error)
	// Pids returns every process in the cgroup (union over hierarchies).
	Pids() ([]int, error)
	// Kill sends SIGKILL to every process in the cgroup. It returns once
	// the signals are sent; the processes may still be exiting.
	Kill() error
	// Remove deletes the cgroup directory in every hierarchy. A directory
	// that is already gone is not an error; one that still has processes is.
	Remove() error
}

// Hierarchy is the host's cgroup layout.
type Hierarchy interface {
	// Version returns 1 or 2.
	Version() int
	// Group returns the cgroup at the clean absolute path p. It does not
	// create anything.
	Group(p string) (Group, error)
	// Children returns the names of the cgroups directly below parent in
	// any hierarchy, sorted and without duplicates.
	Children(parent string) ([]string, error)
}

// checkPath rejects relative, unclean and root paths, so a Group never
// addresses a hierarchy root or a directory outside it.
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return fmt.Errorf("%w: %q: use a clean absolute path below the root such as \"/moat/r-0123456789abcdef\"", ErrInvalidPath, p)
	}
	return nil
}
