package runc

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/ocirun"
)

// host holds what cleanup and Reap need: the configuration and the host's
// cgroup layout.
type host struct {
	cfg       Config
	hierarchy cgroup.Hierarchy
	log       *slog.Logger
}

// cgroupPath returns the cgroup of run id, relative to the hierarchy roots.
func (h *host) cgroupPath(id string) string {
	return "/" + h.cfg.CgroupParent + "/" + id
}

// runc runs one bounded runc command against moat's state root and returns
// its combined output.
func (h *host) runc(args ...string) ([]byte, error) {
	return ocirun.Command("runc", h.cfg.Binary, h.cfg.StateRoot, args...)
}

// deleteContainer deletes the container id, killing whatever still runs in
// it, and checks that runc's state directory is gone.
func (h *host) deleteContainer(id string) error {
	state := filepath.Join(h.cfg.StateRoot, id)
	if _, err := os.Stat(state); errors.Is(err, fs.ErrNotExist) {
		return nil
	}

	// A plain delete succeeds for a stopped container, the normal case
	// after `runc run --keep`; --force first signals the container and
	// waits about 100 ms, so it is only the fallback for a running one.
	_, err := h.runc("delete", id)
	if err != nil {
		_, err = h.runc("delete", "--force", id)
	}
	if _, statErr := os.Stat(state); errors.Is(statErr, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("container %q still has state in %q: %w", id, state, err)
}

// removeCgroup kills whatever is left in the run's cgroup and removes it
// from every hierarchy.
func (h *host) removeCgroup(id string) error {
	return ocirun.RemoveCgroup(h.log, h.hierarchy, h.cgroupPath(id), id)
}

// removeRunDir removes RootfsDir/<id>, then WorkDir/<id>, each after
// making sure no mount remains below it. The rootfs goes first, so a
// leftover rootfs always has a run directory through which Reap finds it.
func (h *host) removeRunDir(id string) error {
	for _, dir := range []string{filepath.Join(h.cfg.RootfsDir, id), filepath.Join(h.cfg.WorkDir, id)} {
		if err := unmountBelow(dir); err != nil {
			return err
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// removeAll runs the three cleanup steps of run id, in order, and returns
// every failure.
func (h *host) removeAll(id string) error {
	return errors.Join(h.deleteContainer(id), h.removeCgroup(id), h.removeRunDir(id))
}
