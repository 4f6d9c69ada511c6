package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/moatdev/moat/internal/audit"
	"github.com/moatdev/moat/internal/netns"
	"github.com/moatdev/moat/internal/store"
)

// SandboxReaper is implemented by runtimes that can remove the leftovers of
// runs a crashed process left behind. keep returns true for ids that must
// not be touched.
type SandboxReaper interface {
	Reap(ctx context.Context, keep func(id string) bool) ([]string, error)
}

// Reaper finishes the runs whose worker process died and removes what they
// left behind: the container, its cgroups and state, and the run's network
// namespace. It never touches a run whose worker is alive or on another
// host.
type Reaper struct {
	Store store.Store
	Audit *audit.Recorder
	// Runtimes returns every sandbox backend this host may have run the
	// lost runs with, because a run does not record which one; reaping an
	// id that a backend never saw does nothing. It is called only when
	// there are lost runs, so a moat start with nothing to reap sets up no
	// other backend.
	Runtimes func() []SandboxReaper
	Log      *slog.Logger
}

// ReapLost finishes every unfinished run whose worker is gone as
// worker_lost and returns their ids.
func (r *Reaper) ReapLost(ctx context.Context) ([]string, error) {
	runs, err := r.Store.ListUnfinishedRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("list unfinished runs: %w", err)
	}

	lost := map[string]store.Run{}
	for _, run := range runs {
		if run.Worker != "" && stateOf(run.Worker) == workerGone {
			lost[run.ID] = run
		}
	}
	if len(lost) == 0 {
		return nil, nil
	}

	// Only the lost runs' leftovers are removed; a live process's sandboxes
	// and anything without a run record stay.
	var errs []error
	keep := func(id string) bool { _, ok := lost[id]; return !ok }
	var runtimes []SandboxReaper
	if r.Runtimes != nil {
		runtimes = r.Runtimes()
	}
	for _, rt := range runtimes {
		if _, err := rt.Reap(ctx, keep); err != nil {
			errs = append(errs, err)
		}
	}
	// A run is finished only once its sandbox is gone, so a failed
	// removal is retried by the next moat process instead of leaving a
	// worker_lost run with live processes.
	if len(errs) > 0 {
		return nil, fmt.Errorf("remove sandboxes of lost runs (they stay unfinished and are retried): %w", errors.Join(errs...))
	}

	var ids []string
	for id, run := range lost {
		if err := netns.Delete("moat-" + id); err != nil {
			errs = append(errs, fmt.Errorf("delete network namespace of run %s: %w", id, err))
		}
		if err := r.finishLost(ctx, run); err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, id)
	}
	return ids, errors.Join(errs...)
}

// finishLost records a lost run's terminal cause and audits it.
func (r *Reaper) finishLost(ctx context.Context, run store.Run) error {
	now := time.Now()
	reason := fmt.Sprintf("%s is gone; its sandbox was removed", describeWorker(run.Worker))
	run.State = store.RunFinished
	run.Cause = CauseWorkerLost
	run.Reason = reason
	run.FinishedAt = &now
	if run.StartedAt != nil {
		run.WallMillis = now.Sub(*run.StartedAt).Milliseconds()
	}
	if err := r.Store.FinishRun(ctx, run); err != nil {
		return fmt.Errorf("finish lost run %s: %w", run.ID, err)
	}
	r.Log.Warn("run finished as worker_lost", "run", run.ID, "worker", run.Worker)

	_, err := r.Audit.Record(ctx, store.Event{
		Type: audit.RunFinished, Actor: run.Actor, Org: run.Org, RunID: run.ID, Job: run.Job,
		Decision: audit.Allow, Reason: reason,
		Details: map[string]any{"cause": CauseWorkerLost, "worker": run.Worker, "bundle_digest": run.Digest},
	})
	return err
}
