package ocirun

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/ids"
)

// RemoveLeftovers calls remove for each candidate run id for which keep
// returns false (keep may be nil), stopping when ctx is done. It returns
// the ids it removed and every failure.
func RemoveLeftovers(ctx context.Context, log *slog.Logger, candidates []string, keep func(id string) bool, remove func(id string) error) ([]string, error) {
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

		if err := remove(id); err != nil {
			errs = append(errs, fmt.Errorf("reap run %q: %w", id, err))
			continue
		}
		log.Info("reaped leftover sandbox", "run", id)
		removed = append(removed, id)
	}
	return removed, errors.Join(errs...)
}

// RunIDs returns the names that are valid run ids, sorted and without
// duplicates. Any other name is ignored, so reaping never touches a
// directory or cgroup moat did not name.
func RunIDs(names []string) []string {
	seen := map[string]bool{}
	for _, name := range names {
		if ids.ValidateRun(name) == nil {
			seen[name] = true
		}
	}

	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// DirNames returns the names of the entries of dir, none if dir is missing.
func DirNames(dir string) ([]string, error) {
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

// RemoveCgroup kills whatever is left in the cgroup at path and removes it
// from every hierarchy. A missing cgroup is not an error.
func RemoveCgroup(log *slog.Logger, hierarchy cgroup.Hierarchy, path, id string) error {
	group, err := hierarchy.Group(path)
	if err != nil {
		return err
	}
	if !group.Exists() {
		return nil
	}

	if err := group.Kill(); err != nil {
		log.Warn("kill leftover processes of cgroup failed", "run", id, "cgroup", group.Path(), "err", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	if err := cgroup.WaitEmpty(ctx, group); err != nil {
		return err
	}
	return group.Remove()
}
