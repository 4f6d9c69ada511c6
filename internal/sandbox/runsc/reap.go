package runsc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/moatdev/moat/internal/ids"
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

	var removed []string
	var errs []error
	for _, id := range candidates {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if keep != nil && keep(id) {
			continue
		}

		if err := r.removeAll(id); err != nil {
			errs = append(errs, fmt.Errorf("reap run %q: %w", id, err))
			continue
		}
		r.log.Info("reaped leftover sandbox", "run", id)
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// leftoverIDs lists the run ids found in the state root (as the prefix of
// "<id>_sandbox:<id>.state"), the work dir and the cgroup parent, sorted
// and without duplicates.
func (r *Runtime) leftoverIDs() ([]string, error) {
	seen := map[string]bool{}
	add := func(name string) {
		if ids.ValidateRun(name) == nil {
			seen[name] = true
		}
	}

	states, err := dirNames(r.cfg.StateRoot)
	if err != nil {
		return nil, err
	}
	for _, name := range states {
		id, _, _ := strings.Cut(name, "_")
		add(id)
	}

	dirs, err := dirNames(r.cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	groups, err := r.hierarchy.Children("/" + r.cfg.CgroupParent)
	if err != nil {
		return nil, fmt.Errorf("list cgroups below %q: %w", r.cfg.CgroupParent, err)
	}
	for _, name := range append(dirs, groups...) {
		add(name)
	}

	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

func dirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", dir, err)
	}

	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}
