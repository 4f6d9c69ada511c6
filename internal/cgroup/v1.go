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

// V1 is a cgroup v1 layout: one mount per controller or group of
// co-mounted controllers, plus named hierarchies and, on hybrid hosts, a
// cgroup2 mount whose directories runc also creates.
type V1 struct {
	// controllers maps a controller name ("memory", "cpuacct",
	// "name=systemd") to the mount point of its hierarchy.
	controllers map[string]string
	// dirs holds every hierarchy mount point once, cgroup2 included.
	dirs []string
}

// NewV1 returns a v1 layout. controllers maps each controller name to its
// mount point; unified is the hybrid cgroup2 mount point or "".
func NewV1(controllers map[string]string, unified string) *V1 {
	v := &V1{controllers: map[string]string{}}
	seen := map[string]bool{}
	for name, dir := range controllers {
		v.controllers[name] = dir
		if !seen[dir] {
			seen[dir] = true
			v.dirs = append(v.dirs, dir)
		}
	}
	if unified != "" && !seen[unified] {
		v.dirs = append(v.dirs, unified)
	}
	v.dirs = sortedUnique(v.dirs)
	return v
}

// Version returns 1.
func (v *V1) Version() int { return 1 }

// Group returns the cgroup at path p.
func (v *V1) Group(p string) (Group, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	return &v1Group{v: v, path: p}, nil
}

// Children lists the cgroups below parent in any hierarchy.
func (v *V1) Children(parent string) ([]string, error) {
	if err := checkPath(parent); err != nil {
		return nil, err
	}

	var names []string
	for _, dir := range v.dirs {
		found, err := listChildren(filepath.Join(dir, parent))
		if err != nil {
			return nil, err
		}
		names = append(names, found...)
	}
	return sortedUnique(names), nil
}

type v1Group struct {
	v    *V1
	path string
}

func (g *v1Group) Path() string { return g.path }

// dir returns the group's directory in the hierarchy of controller, or ""
// when that controller is not mounted.
func (g *v1Group) dir(controller string) string {
	mount, ok := g.v.controllers[controller]
	if !ok {
		return ""
	}
	return filepath.Join(mount, g.path)
}

func (g *v1Group) Exists() bool {
	for _, dir := range g.v.dirs {
		if exists(filepath.Join(dir, g.path)) {
			return true
		}
	}
	return false
}

// Stats reads cpuacct.usage, memory.max_usage_in_bytes, the oom_kill line of
// memory.oom_control and the max line of pids.events. A controller that is
// not mounted leaves its counter at 0.
func (g *v1Group) Stats() (Stats, error) {
	var s Stats
	var errs []error

	if dir := g.dir("cpuacct"); dir != "" {
		ns, err := readInt(filepath.Join(dir, "cpuacct.usage"))
		errs = append(errs, err)
		s.CPUSeconds = float64(ns) / 1e9
	}

	if dir := g.dir("memory"); dir != "" {
		peak, err := readInt(filepath.Join(dir, "memory.max_usage_in_bytes"))
		errs = append(errs, err)
		s.PeakMemoryBytes = peak

		// oom_kill is counted in the memcg of the killed process only
		// (v1 does not propagate it to ancestors), so it is read here, in
		// the leaf the processes ran in.
		kills, err := readKeyed(filepath.Join(dir, "memory.oom_control"), "oom_kill")
		errs = append(errs, err)
		s.OOMKills = kills
	}

	if dir := g.dir("pids"); dir != "" {
		hits, err := readKeyed(filepath.Join(dir, "pids.events"), "max")
		errs = append(errs, err)
		s.PidsHits = hits
	}

	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("read stats of cgroup %q: %w", g.path, err)
	}
	return s, nil
}

func (g *v1Group) Pids() ([]int, error) {
	var lists [][]int
	for _, dir := range g.v.dirs {
		pids, err := readPids(filepath.Join(dir, g.path, "cgroup.procs"))
		if err != nil {
			return nil, err
		}
		lists = append(lists, pids)
	}
	return unionPids(lists...), nil
}

// Kill freezes the cgroup (when the freezer controller is mounted) so no
// process can fork while the pids are read and signalled, sends SIGKILL to
// each, and thaws it so the signals are delivered. Without a freezer it
// repeats read-and-kill a few rounds to catch processes forked meanwhile.
func (g *v1Group) Kill() error {
	freezer := g.dir("freezer")
	if freezer == "" || !exists(freezer) {
		return g.killRounds(5)
	}

	state := filepath.Join(freezer, "freezer.state")
	if err := writeFile(state, "FROZEN"); err != nil {
		return fmt.Errorf("freeze cgroup %q: %w", g.path, err)
	}
	waitFrozen(state, time.Second)

	killErr := g.killRounds(1)

	// Thaw even when killing failed: a cgroup left frozen keeps its
	// processes (and runc waiting on them) forever.
	if err := writeFile(state, "THAWED"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(killErr, fmt.Errorf("thaw cgroup %q: %w", g.path, err))
	}
	return killErr
}

func (g *v1Group) killRounds(rounds int) error {
	var err error
	for range rounds {
		var pids []int
		pids, err = g.Pids()
		if err != nil || len(pids) == 0 {
			return err
		}
		err = killPids(pids, g.path)
	}
	return err
}

// waitFrozen polls freezer.state until it reads FROZEN or the timeout
// passes. A cgroup stuck in FREEZING (a task in uninterruptible sleep) is
// signalled anyway; SIGKILL is delivered once it wakes.
func waitFrozen(state string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(state)
		if err != nil || strings.TrimSpace(string(b)) == "FROZEN" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Remove deletes the group's directory in every hierarchy. It fails if any
// hierarchy still lists a process.
func (g *v1Group) Remove() error {
	pids, err := g.Pids()
	if err != nil {
		return err
	}
	if len(pids) > 0 {
		return fmt.Errorf("remove cgroup %q: processes %v remain: kill them first", g.path, pids)
	}

	var errs []error
	for _, dir := range g.v.dirs {
		errs = append(errs, removeDir(filepath.Join(dir, g.path)))
	}
	return errors.Join(errs...)
}
