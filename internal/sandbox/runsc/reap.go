package runsc

import (
	"context"
	"fmt"
	"strings"

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
	return ocirun.RemoveLeftovers(ctx, r.log, candidates, keep, r.removeAll)
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
