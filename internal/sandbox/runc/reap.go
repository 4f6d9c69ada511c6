package runc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/ids"
)

// Reap removes the leftovers of runs a crashed moat process did not clean
// up: runc containers in cfg.StateRoot, cgroups below cfg.CgroupParent, run
// directories in cfg.WorkDir and, found through them, root tmpfs mounts in
// cfg.RootfsDir (Run creates RootfsDir/<id> only while WorkDir/<id> exists
// and removes it first). It considers only names that are valid run
// ids ("r-" and 16 hex digits). It skips every id for which keep returns
// true, the runs a live worker still owns; keep may be nil. Containers still
// running are killed. It returns the ids it removed.
func Reap(ctx context.Context, cfg Config, keep func(id string) bool) ([]string, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	hierarchy, err := cgroup.Detect()
	if err != nil {
		return nil, fmt.Errorf("reap sandboxes: %w", err)
	}
	h := &host{cfg: cfg, hierarchy: hierarchy, log: cfg.Logger}

	candidates, err := h.leftoverIDs()
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

		if err := h.removeAll(id); err != nil {
			errs = append(errs, fmt.Errorf("reap run %q: %w", id, err))
			continue
		}
		h.log.Info("reaped leftover sandbox", "run", id)
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// leftoverIDs lists the run ids found in the state root, the cgroup parent
// and the work dir, sorted and without duplicates.
func (h *host) leftoverIDs() ([]string, error) {
	seen := map[string]bool{}
	add := func(names []string) {
		for _, name := range names {
			if ids.ValidateRun(name) == nil {
				seen[name] = true
			}
		}
	}

	for _, dir := range []string{h.cfg.StateRoot, h.cfg.WorkDir} {
		names, err := dirNames(dir)
		if err != nil {
			return nil, err
		}
		add(names)
	}

	groups, err := h.hierarchy.Children("/" + h.cfg.CgroupParent)
	if err != nil {
		return nil, fmt.Errorf("list cgroups below %q: %w", h.cfg.CgroupParent, err)
	}
	add(groups)

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
