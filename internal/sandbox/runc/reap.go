package runc

import (
	"context"
	"fmt"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
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
	return ocirun.RemoveLeftovers(ctx, h.log, candidates, keep, h.removeAll)
}

// leftoverIDs lists the run ids found in the state root, the cgroup parent
// and the work dir, sorted and without duplicates.
func (h *host) leftoverIDs() ([]string, error) {
	var names []string
	for _, dir := range []string{h.cfg.StateRoot, h.cfg.WorkDir} {
		entries, err := ocirun.DirNames(dir)
		if err != nil {
			return nil, err
		}
		names = append(names, entries...)
	}

	groups, err := h.hierarchy.Children("/" + h.cfg.CgroupParent)
	if err != nil {
		return nil, fmt.Errorf("list cgroups below %q: %w", h.cfg.CgroupParent, err)
	}
	return ocirun.RunIDs(append(names, groups...)), nil
}
