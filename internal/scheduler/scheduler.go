// Package scheduler accepts runs into moat's queue.
//
// In embedded mode ('moat run', 'moat demo') the process that submits a run
// also executes it, so the queue is the store's runs table and Submit only
// records the run. A server mode with leases and per-org limits will
// implement the same Queue interface over the shared store.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/ids"
	"github.com/moatdev/moat/internal/store"
)

// Queue accepts runs.
type Queue interface {
	// Submit records r as queued and returns it with its id and queue time
	// set.
	Submit(ctx context.Context, r store.Run) (store.Run, error)
}

// Embedded is the queue of embedded mode.
type Embedded struct {
	Store store.Store
	Audit *audit.Recorder
}

// Submit records the run and audits it. The org must exist.
func (q *Embedded) Submit(ctx context.Context, r store.Run) (store.Run, error) {
	if _, err := q.Store.GetOrg(ctx, r.Org); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("org %q does not exist: create it with 'moat org create %s'", r.Org, r.Org)
		}
		return r, fmt.Errorf("look up org %q: %w", r.Org, err)
	}

	r.ID = ids.NewRun()
	r.State = store.RunQueued
	r.QueuedAt = time.Now().UTC()
	if err := q.Store.CreateRun(ctx, r); err != nil {
		return r, fmt.Errorf("queue run: %w", err)
	}

	_, err := q.Audit.Record(ctx, store.Event{
		Type: audit.RunQueued, Actor: r.Actor, Org: r.Org, RunID: r.ID, Job: r.Job,
		Decision: audit.Allow, Reason: "queued",
		Details: map[string]any{"bundle_digest": r.Digest},
	})
	return r, err
}
