package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moatdev/moat/internal/ids"
)

// ErrRunFinished is wrapped by errors about changing a run that has already
// finished; the message names its cause.
var ErrRunFinished = errors.New("run already finished")

// CreateRun inserts r as a queued run of an existing job. r.State must be
// empty or queued; a zero r.QueuedAt means now. A run id that exists is
// ErrExists.
func (s *SQLite) CreateRun(ctx context.Context, r Run) error {
	if err := validateNewRun(r); err != nil {
		return err
	}
	queuedAt := nowOr(r.QueuedAt)

	return s.write(ctx, func(tx *sql.Tx) error {
		if err := requireJob(ctx, tx, r.Org, r.Job); err != nil {
			return err
		}

		_, err := getRun(ctx, tx, r.ID)
		if err == nil {
			return fmt.Errorf("run %q %w: create each run with a fresh id", r.ID, ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look up run %q: %w", r.ID, err)
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, org, job, digest, actor, state, limits, queued_at, worker)
			VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
			r.ID, r.Org, r.Job, r.Digest, r.Actor, r.Limits, formatTime(queuedAt), r.Worker)
		if err != nil {
			return fmt.Errorf("insert run %q: %w", r.ID, err)
		}
		return nil
	})
}

func validateNewRun(r Run) error {
	if err := ids.ValidateRun(r.ID); err != nil {
		return err
	}
	if err := ids.ValidateName("org", r.Org); err != nil {
		return err
	}
	if err := ids.ValidateName("job", r.Job); err != nil {
		return err
	}
	if err := ids.ValidateName("actor", r.Actor); err != nil {
		return err
	}

	// The digest is empty for a run rejected before its bundle was read.
	if r.Digest != "" {
		if err := validateDigest(r.Digest); err != nil {
			return err
		}
	}
	if r.State != "" && r.State != RunQueued {
		return fmt.Errorf("run %q has state %q: create runs queued, then use MarkRunStarted and FinishRun", r.ID, r.State)
	}
	if len(r.Limits) > 0 && !json.Valid(r.Limits) {
		return fmt.Errorf("run %q has limits that are not valid JSON", r.ID)
	}
	return nil
}

// MarkRunStarted moves a queued run to running at time at (zero means now).
func (s *SQLite) MarkRunStarted(ctx context.Context, id string, at time.Time) error {
	if err := ids.ValidateRun(id); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'`,
			formatTime(nowOr(at)), id)
		if err != nil {
			return fmt.Errorf("mark run %q started: %w", id, err)
		}
		return requireUpdated(ctx, tx, res, id, RunQueued)
	})
}

// FinishRun stores the terminal fields of r and sets the run finished; see
// Store. r.Cause is required and a nil r.FinishedAt means now. The query,
// row and webhook counters keep the larger of the stored value (added by
// AddRunCounters during the run) and r's value, so a caller that does not
// track them cannot erase them.
func (s *SQLite) FinishRun(ctx context.Context, r Run) error {
	if err := ids.ValidateRun(r.ID); err != nil {
		return err
	}
	if r.Cause == "" {
		return fmt.Errorf("run %q has no cause: a finished run needs its terminal cause", r.ID)
	}
	finishedAt := time.Now()
	if r.FinishedAt != nil {
		finishedAt = *r.FinishedAt
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET state = 'finished', cause = ?, reason = ?, exit_code = ?,
				cpu_seconds = ?, peak_memory_bytes = ?, oom_kills = ?, pids_hits = ?, wall_millis = ?,
				rows_returned = MAX(rows_returned, ?), queries = MAX(queries, ?), webhook_calls = MAX(webhook_calls, ?),
				log_path = ?, log_bytes = ?, log_truncated = ?, finished_at = ?
			WHERE id = ? AND state != 'finished'`,
			r.Cause, r.Reason, r.ExitCode,
			r.CPUSeconds, r.PeakMemoryBytes, r.OOMKills, r.PidsHits, r.WallMillis,
			r.RowsReturned, r.Queries, r.WebhookCalls,
			r.LogPath, r.LogBytes, r.LogTruncated, formatTime(finishedAt),
			r.ID)
		if err != nil {
			return fmt.Errorf("finish run %q: %w", r.ID, err)
		}
		return requireUpdated(ctx, tx, res, r.ID, RunQueued, RunRunning)
	})
}

// RequestCancel flags a queued or running run for cancellation. Flagging
// it twice is not an error.
func (s *SQLite) RequestCancel(ctx context.Context, id string) error {
	if err := ids.ValidateRun(id); err != nil {
		return err
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET cancel_requested = 1 WHERE id = ? AND state != 'finished'`, id)
		if err != nil {
			return fmt.Errorf("request cancel of run %q: %w", id, err)
		}
		return requireUpdated(ctx, tx, res, id, RunQueued, RunRunning)
	})
}

// AddRunCounters adds non-negative deltas to a running run's counters.
func (s *SQLite) AddRunCounters(ctx context.Context, id string, queries, rows, webhooks int64) error {
	if err := ids.ValidateRun(id); err != nil {
		return err
	}
	if queries < 0 || rows < 0 || webhooks < 0 {
		return fmt.Errorf("run %q counters must only grow: got queries %d, rows %d, webhooks %d", id, queries, rows, webhooks)
	}

	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET queries = queries + ?, rows_returned = rows_returned + ?,
				webhook_calls = webhook_calls + ? WHERE id = ? AND state = 'running'`,
			queries, rows, webhooks, id)
		if err != nil {
			return fmt.Errorf("add counters of run %q: %w", id, err)
		}
		return requireUpdated(ctx, tx, res, id, RunRunning)
	})
}

// requireUpdated returns nil if res changed the run, and otherwise explains
// why the run id was not in one of the states allowed: ErrNotFound for an
// unknown run, ErrRunFinished with the cause for a finished one.
func requireUpdated(ctx context.Context, tx *sql.Tx, res sql.Result, id string, allowed ...RunState) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update run %q: %w", id, err)
	}
	if n > 0 {
		return nil
	}

	var state, cause string
	err = tx.QueryRowContext(ctx, `SELECT state, cause FROM runs WHERE id = ?`, id).Scan(&state, &cause)
	if err != nil {
		return notFound(err, fmt.Sprintf("run %q", id))
	}
	if RunState(state) == RunFinished {
		return fmt.Errorf("run %q: %w with cause %q", id, ErrRunFinished, cause)
	}

	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("run %q is %s, but this change needs a run that is %s", id, state, strings.Join(names, " or "))
}
