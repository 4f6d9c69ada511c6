package runc

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/moatdev/moat/internal/sandbox"
)

// Baseline is a container prepared exactly as Run prepares it (rootfs,
// generated /etc, OCI spec), for benchmarks that compare Run with a plain
// 'runc run' of the same bundle.
type Baseline struct {
	// Binary, StateRoot and BundleDir make the command
	// Binary --root StateRoot run --bundle BundleDir ID.
	Binary    string
	StateRoot string
	BundleDir string
	ID        string

	rt   *Runtime
	slot *idSlot
}

// PrepareBaseline prepares spec exactly as Run does (tmpfs root with the
// bundle copied in, generated /etc, user namespace, OCI spec) without
// starting it. Remove deletes everything it created.
func (r *Runtime) PrepareBaseline(spec sandbox.Spec) (*Baseline, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	d := r.runDirs(spec.ID)
	if err := os.Mkdir(d.top, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox %q: create run directory: %w", spec.ID, err)
	}

	b := &Baseline{Binary: r.cfg.Binary, StateRoot: r.cfg.StateRoot, BundleDir: d.bundle, ID: spec.ID, rt: r}
	slot, err := r.userNamespaceSlot(spec)
	if err != nil {
		return nil, errorsJoin(err, b.Remove())
	}
	b.slot = slot
	if _, err := r.prepare(spec, d, slot); err != nil {
		return nil, errorsJoin(err, b.Remove())
	}
	return b, nil
}

// Remove deletes the baseline's container, cgroups and run directory and
// releases its user namespace slot.
func (b *Baseline) Remove() error {
	err := b.rt.removeAll(b.ID)
	if b.slot != nil {
		err = errors.Join(err, b.slot.release())
	}
	return err
}

func errorsJoin(err, cleanupErr error) error {
	if cleanupErr == nil {
		return err
	}
	return fmt.Errorf("%w (cleanup also failed: %v)", err, cleanupErr)
}

// Reap removes the leftovers of runs of this runtime that a crashed moat
// process left behind; see the package function Reap.
func (r *Runtime) Reap(ctx context.Context, keep func(id string) bool) ([]string, error) {
	return Reap(ctx, r.cfg, keep)
}
