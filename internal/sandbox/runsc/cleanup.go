package runsc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
	"github.com/moatdev/moat/internal/sandbox/runc"
)

// host holds what Run, cleanup and Reap need.
type host struct {
	cfg       Config
	hierarchy cgroup.Hierarchy
	mounts    cgroupMounts
	log       *slog.Logger
}

// cgroupPath returns the cgroup of run id, relative to the hierarchy roots.
func (h *host) cgroupPath(id string) string {
	return "/" + h.cfg.CgroupParent + "/" + id
}

// runsc runs one bounded runsc command against moat's state root and
// returns its combined output.
func (h *host) runsc(args ...string) ([]byte, error) {
	return ocirun.Command("runsc", h.cfg.Binary, h.cfg.StateRoot, args...)
}

// stateFiles returns runsc's state and lock files of container id. runsc
// names them "<id>_sandbox:<sandbox id>.state" and ".lock".
func (h *host) stateFiles(id string) []string {
	files, _ := filepath.Glob(filepath.Join(h.cfg.StateRoot, id+"_sandbox:*"))
	return files
}

// deleteContainer runs `runsc delete --force` when runsc still has state
// for id. If that fails, it removes the state files itself: the caller
// kills every process of the run through its cgroup before that, so no
// sandbox is orphaned by it.
func (h *host) deleteContainer(id string) error {
	if len(h.stateFiles(id)) == 0 {
		return nil
	}

	_, err := h.runsc("delete", "--force", id)
	if err != nil {
		h.log.Warn("runsc delete failed; removing its state files", "run", id, "err", err)
	}

	var errs []error
	for _, f := range h.stateFiles(id) {
		if rmErr := os.Remove(f); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			errs = append(errs, rmErr)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("container %q still has state in %q: %w", id, h.cfg.StateRoot, errors.Join(append(errs, err)...))
	}
	return nil
}

// removeCgroup kills whatever is left in the run's cgroup and removes it
// from every hierarchy: moat's own leaf and any directory runsc created
// and left behind after a failed or killed run.
func (h *host) removeCgroup(id string) error {
	return ocirun.RemoveCgroup(h.log, h.hierarchy, h.cgroupPath(id), id)
}

// removeAll runs the cleanup steps of run id in order (processes and
// cgroup, container state, run directory) and returns every failure.
func (h *host) removeAll(id string) error {
	return errors.Join(
		h.removeCgroup(id),
		h.deleteContainer(id),
		runc.RemoveRunDir(h.cfg.WorkDir, id),
	)
}
