package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// V2 is the cgroup v2 unified hierarchy mounted at one root.
type V2 struct {
	root string
}

// NewV2 returns the unified hierarchy mounted at root (normally
// /sys/fs/cgroup).
func NewV2(root string) *V2 { return &V2{root: root} }

// Version returns 2.
func (v *V2) Version() int { return 2 }

// Group returns the cgroup at path p.
func (v *V2) Group(p string) (Group, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	return &v2Group{path: p, dir: filepath.Join(v.root, p)}, nil
}

// Children lists the cgroups below parent.
func (v *V2) Children(parent string) ([]string, error) {
	if err := checkPath(parent); err != nil {
		return nil, err
	}
	names, err := listChildren(filepath.Join(v.root, parent))
	return sortedUnique(names), err
}

type v2Group struct {
	path string
	dir  string
}

func (g *v2Group) Path() string { return g.path }

func (g *v2Group) Exists() bool { return exists(g.dir) }

// Stats reads usage_usec of cpu.stat, memory.peak, oom_kill of
// memory.events and max of pids.events. cpu.stat, memory.peak and
// memory.events include the cgroups below this one; pids.events counts only
// hits of this cgroup's own limit before Linux 6.13. memory.peak exists
// since Linux 5.19; without it PeakMemoryBytes is 0 and no error is
// returned.
func (g *v2Group) Stats() (Stats, error) {
	var s Stats
	var errs []error

	usec, err := readKeyed(filepath.Join(g.dir, "cpu.stat"), "usage_usec")
	errs = append(errs, err)
	s.CPUSeconds = float64(usec) / 1e6

	peak, err := readInt(filepath.Join(g.dir, "memory.peak"))
	if !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	s.PeakMemoryBytes = peak

	kills, err := readKeyed(filepath.Join(g.dir, "memory.events"), "oom_kill")
	errs = append(errs, err)
	s.OOMKills = kills

	hits, err := readKeyed(filepath.Join(g.dir, "pids.events"), "max")
	errs = append(errs, err)
	s.PidsHits = hits

	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("read stats of cgroup %q: %w", g.path, err)
	}
	return s, nil
}

// Pids lists cgroup.procs of this cgroup and every cgroup below it.
func (g *v2Group) Pids() ([]int, error) {
	var lists [][]int
	err := filepath.WalkDir(g.dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}

		pids, err := readPids(filepath.Join(p, "cgroup.procs"))
		lists = append(lists, pids)
		return err
	})
	return unionPids(lists...), err
}

// Kill writes 1 to cgroup.kill, which makes the kernel SIGKILL every process
// of the subtree atomically (no fork can escape). Kernels before 5.14 lack
// cgroup.kill; there it freezes the cgroup, kills each process and thaws.
func (g *v2Group) Kill() error {
	err := writeFile(filepath.Join(g.dir, "cgroup.kill"), "1")
	switch {
	case err == nil:
		return nil
	case !g.Exists():
		// Already removed, so no process is left to kill.
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return g.freezeAndKill()
	default:
		return fmt.Errorf("kill cgroup %q: %w", g.path, err)
	}
}

func (g *v2Group) freezeAndKill() error {
	freeze := filepath.Join(g.dir, "cgroup.freeze")
	if err := writeFile(freeze, "1"); err != nil {
		return fmt.Errorf("freeze cgroup %q: %w", g.path, err)
	}
	waitFrozenV2(filepath.Join(g.dir, "cgroup.events"), time.Second)

	var killErr error
	pids, err := g.Pids()
	if err != nil {
		killErr = err
	} else {
		killErr = killPids(pids, g.path)
	}

	// Thaw even when killing failed so the signals are delivered.
	if err := writeFile(freeze, "0"); err != nil {
		return errors.Join(killErr, fmt.Errorf("thaw cgroup %q: %w", g.path, err))
	}
	return killErr
}

// waitFrozenV2 polls cgroup.events until it reports "frozen 1" or the
// timeout passes.
func waitFrozenV2(events string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(events)
		if err != nil || strings.Contains(string(b), "frozen 1") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Remove deletes the cgroup and the cgroups below it. It fails if a process
// remains.
func (g *v2Group) Remove() error {
	pids, err := g.Pids()
	if err != nil {
		return err
	}
	if len(pids) > 0 {
		return fmt.Errorf("remove cgroup %q: processes %v remain: kill them first", g.path, pids)
	}
	return removeDir(g.dir)
}
