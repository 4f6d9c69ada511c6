package runc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/moatdev/moat/internal/cgroup"
)

// commandTimeout bounds every runc command other than `runc run`.
const commandTimeout = 10 * time.Second

// undoStack collects the cleanup steps of a run; run executes them in
// reverse order of registration.
type undoStack struct {
	steps []undoStep
}

type undoStep struct {
	name string
	fn   func() error
}

func (u *undoStack) add(name string, fn func() error) {
	u.steps = append(u.steps, undoStep{name: name, fn: fn})
}

// run executes every step, newest first, even after a failed one, and
// returns all failures.
func (u *undoStack) run() error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		step := u.steps[i]
		if err := step.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", step.name, err))
		}
	}
	u.steps = nil
	return errors.Join(errs...)
}

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
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	full := append([]string{"--root", h.cfg.StateRoot}, args...)
	out, err := exec.CommandContext(ctx, h.cfg.Binary, full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("runc %q: %w: %s", args, err, out)
	}
	return out, nil
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
	group, err := h.hierarchy.Group(h.cgroupPath(id))
	if err != nil {
		return err
	}
	if !group.Exists() {
		return nil
	}

	if err := group.Kill(); err != nil {
		h.log.Warn("kill leftover processes of cgroup failed", "run", id, "cgroup", group.Path(), "err", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	if err := cgroup.WaitEmpty(ctx, group); err != nil {
		return err
	}
	return group.Remove()
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
