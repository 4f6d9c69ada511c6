package runsc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

// Reap removes the leftovers of runs a crashed moat process did not clean
// up: sandboxes in the state root, cgroups below the cgroup parent and run
// directories in the work dir. It considers only names that are valid run
// ids and skips every id for which keep returns true (keep may be nil).
// Sandboxes still running are killed. It returns the ids it removed.
func (r *Runtime) Reap(ctx context.Context, keep func(id string) bool) ([]string, error) {
	candidates, err := r.leftoverIDs()
	if err != nil {
		return nil, err
	}
	return ocirun.RemoveLeftovers(ctx, r.log, candidates, keep, r.removeLeftover)
}

// removeLeftover removes what a crashed moat process left of run id. The
// `runsc run` command of that process outlives it (it was moat's child, not
// a member of the run's cgroup) and can still be starting or tending the
// sandbox, which then keeps the cgroup busy; so it is killed first. Only
// processes whose command line names this runtime's own state root and the
// run id are touched.
func (r *Runtime) removeLeftover(id string) error {
	for _, pid := range cliProcesses(r.cfg.StateRoot, id) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			r.log.Warn("kill leftover runsc command failed", "run", id, "pid", pid, "err", err)
		}
	}
	return r.removeAll(id)
}

// cliProcesses returns the pids of runsc commands with "--root stateRoot"
// and the argument id on their command line.
func cliProcesses(stateRoot, id string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if hasRootAndID(args, stateRoot, id) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hasRootAndID reports whether args contain "--root" followed by root (or
// "--root=root") and an argument equal to id.
func hasRootAndID(args []string, root, id string) bool {
	var rootOK, idOK bool
	for i, a := range args {
		switch {
		case a == "--root" && i+1 < len(args) && args[i+1] == root, a == "--root="+root:
			rootOK = true
		case a == id:
			idOK = true
		}
	}
	return rootOK && idOK
}

// leftoverIDs lists the run ids found in the state root (as the prefix of
// "<id>_sandbox:<id>.state"), the work dir and the cgroup parent, sorted
// and without duplicates.
func (r *Runtime) leftoverIDs() ([]string, error) {
	states, err := ocirun.DirNames(r.cfg.StateRoot)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range states {
		id, _, _ := strings.Cut(name, "_")
		names = append(names, id)
	}

	dirs, err := ocirun.DirNames(r.cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	groups, err := r.hierarchy.Children("/" + r.cfg.CgroupParent)
	if err != nil {
		return nil, fmt.Errorf("list cgroups below %q: %w", r.cfg.CgroupParent, err)
	}
	return ocirun.RunIDs(append(append(names, dirs...), groups...)), nil
}
