package runsc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moatdev/moat/internal/cgroup"
	"github.com/moatdev/moat/internal/sandbox/runc"
)

// commandTimeout bounds every runsc command other than `runsc run`.
const commandTimeout = 10 * time.Second

// undoStack collects the cleanup steps of a run; run executes them newest
// first, every one even after a failure, and returns all failures.
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
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	full := append([]string{"--root", h.cfg.StateRoot}, args...)
	out, err := exec.CommandContext(ctx, h.cfg.Binary, full...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("runsc %q: %w: %s", args, err, strings.TrimSpace(string(out)))
	}
	return out, nil
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

// removeAll runs the cleanup steps of run id in order (processes and
// cgroup, container state, run directory) and returns every failure.
func (h *host) removeAll(id string) error {
	return errors.Join(
		h.removeCgroup(id),
		h.deleteContainer(id),
		runc.RemoveRunDir(h.cfg.WorkDir, id),
	)
}
